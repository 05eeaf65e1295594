import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TokenStormRecord } from '../results/schema.js';
import { stormSection, STORM_COLUMNS } from './html/studies.js';
import { renderMarkdown } from './markdown.js';
import type { Results } from '../results/schema.js';

// The quick study's storm as CI read it (2026-12-03): 2,000 services held tokens after 634 ms, then one
// 10-s lifetime of `window` refreshes peaking at 497 req/s. The series starts once the cold start is over.
const storm: TokenStormRecord = {
  policy: 'window',
  services: 2000,
  ttlS: 10,
  issued: 4190,
  failed: 0,
  peakIdpRps: 497,
  meanIdpRps: 218.9,
  timeToAllTokensMs: 634,
  idpRpsSeries: [0, 0, 0, 182, 432, 475, 497, 329, 137, 137].map((r, i) => [988.75 + i * 1000, r] as [number, number]),
  idp: 'dedicated',
};

const cells = (t: TokenStormRecord) => Object.fromEntries(STORM_COLUMNS.map((c) => [c.head, c.cell(t)]));

describe('token storm table', () => {
  it('shows the cold start as the burst it is, apart from the peaks of the refreshes after it', () => {
    const c = cells(storm);
    // 2,000 tokens in 634 ms: the IdP took about 3,155 exchanges a second, six times the refresh peak.
    expect(c['Cold start']).toBe('3,155 req/s for 634 ms');
    expect(c['Peak after cold start']).toBe('497 req/s');
    expect(c['Steady peak']).toBe('497 req/s');
    expect(c['Steady mean']).toBe('219 req/s');
    // No column that reads the steady figures says it includes the cold start.
    for (const col of STORM_COLUMNS.filter((x) => x.head.startsWith('Steady'))) expect(col.title).not.toMatch(/including the cold start/i);
  });

  it('says "—" for a cold start it cannot time, and renders the same columns in report.html and summary.md', () => {
    expect(cells({ ...storm, timeToAllTokensMs: 0 })['Cold start']).toBe('—');
    const html = stormSection({ tokenStorm: [storm] } as unknown as Results, []);
    const fixture = JSON.parse(readFileSync('test/fixtures/results.sample.json', 'utf8')) as Results;
    const md = renderMarkdown({ ...fixture, tokenStorm: [storm] }, []);
    for (const c of STORM_COLUMNS) {
      expect(html).toContain(`>${c.head}</th>`);
      expect(md).toContain(` ${c.head} |`);
    }
    expect(html).toContain('>3,155 req/s for 634 ms<');
    expect(md).toContain('| window | 2,000 | 10 s | 4,190 | 0 | 3,155 req/s for 634 ms | 497 req/s | 497 req/s | 219 req/s |');
  });
});
