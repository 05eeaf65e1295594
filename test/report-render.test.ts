import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { writeReport } from '../reports/render.js';
import type { Results } from '../results/schema.js';
import { lightEstimate } from './fixtures/estimate.js';

const CHROMIUM = '/usr/bin/chromium';
const FIXTURE = resolve('test/fixtures/results.sample.json');
/** CI keeps runs/ci-artifacts/ as an artifact: the rendered report and its screenshot. */
const ARTIFACTS = resolve('runs/ci-artifacts/report');

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`report browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`);
}

describe.skipIf(!haveChromium)('report.html in headless Chromium', () => {
  let browser: Browser;
  let htmlPath: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    ({ htmlPath } = await writeReport(FIXTURE, ARTIFACTS));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('renders a bare-bones results.json (no extensions, an all-invalid mode, markup in names) without errors', async () => {
    const full = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Results;
    const bare: Results = {
      schemaVersion: 1,
      study: { ...full.study, scenarios: undefined, seed: undefined, quick: undefined } as Results['study'],
      runs: full.runs
        .filter((r) => r.scenario === 'light')
        .map(({ timeline: _t, throughputRps: _r, ...r }) => ({
          ...r,
          scenario: 'light <b>&"x"',
          serverTimingUs: {},
          ...(r.mode === 'observe' ? { valid: false, invalidReason: 'dropped iterations' } : {}),
        })),
      comparisons: [],
      tokenStorm: [],
    };
    const dir = join(ARTIFACTS, 'bare');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'results.json'), JSON.stringify(bare));
    const { htmlPath: barePath } = await writeReport(join(dir, 'results.json'));
    const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(pathToFileURL(barePath).href);
    await page.waitForSelector('body[data-charts-drawn]', { timeout: 15_000 });
    expect(problems).toEqual([]);
    // Only the spectrum has data; the other charts are replaced by a sentence, not drawn empty.
    expect(await page.getAttribute('body', 'data-charts-drawn')).toBe('1');
    const text = await page.innerText('body');
    expect(text).toContain('Scenario: light <b>&"x"');
    expect(text).toContain('no Server-Timing stages and no per-interval timeline');
    expect(text).toContain('Not measured in this study');
    expect(text).toMatch(/observe\s+0 \+6 invalid/);
    await page.screenshot({ path: join(dir, 'report-screenshot.png'), fullPage: true });
    await page.close();
  });

  it('opens offline, logs no error, draws every chart, and fits a laptop screen', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));

    const url = pathToFileURL(htmlPath).href;
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts-drawn]', { timeout: 15_000 });

    expect(problems).toEqual([]);
    // Offline: the only request is the file itself (chart.js, CSS and data are inline).
    expect(requests).toEqual([url]);

    const canvases = await page.$$eval('canvas', (els) => els.map((e) => e.id));
    // 3 scenarios × (overheads, spectrum, stages, latency, throughput) + token storm + 2 replication.
    expect(canvases).toHaveLength(18);
    expect(await page.getAttribute('body', 'data-charts-drawn')).toBe('18');

    // Every canvas has drawn pixels, and some in colour: the data, not just empty axes.
    // Runs in the page (tsconfig has no DOM lib, so the page code is passed as text).
    const painted = (await page.evaluate(`Array.from(document.querySelectorAll('canvas')).map((canvas) => {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let opaque = 0;
      let coloured = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] < 100) continue;
        opaque++;
        // Axes, grid and text are grey; data series are drawn in colour.
        if (Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) coloured++;
      }
      return { id: canvas.id, w: canvas.width, opaque, coloured };
    })`)) as { id: string; w: number; opaque: number; coloured: number }[];
    expect(painted).toHaveLength(18);
    for (const p of painted) {
      expect(p.w, p.id).toBeGreaterThan(200);
      expect(p.opaque, p.id).toBeGreaterThan(1000);
      expect(p.coloured, p.id).toBeGreaterThan(100);
    }

    // Readable on a laptop: no sideways scrolling of the page.
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);

    const text = await page.innerText('body');
    // The fixture adds 31 µs of auth at the median; the page must say so in words, with its CI.
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Results;
    const auth = fixture.comparisons.find(
      (c) => c.scenario === 'light' && c.candidate === 'enforce' && c.baseline === 'off' && c.stat === 'p50',
    )!;
    expect(auth.deltaUs).toBeGreaterThan(25);
    expect(auth.deltaUs).toBeLessThan(40);
    expect(text).toContain(`enforce adds ${auth.deltaUs} µs at p50 [${auth.ci95Us[0]}, ${auth.ci95Us[1]}] µs`);
    expect(text).toContain('no significant difference at p50');
    expect(text).toContain('IdP unreachable for 2.1 s mid-run');
    expect(text).not.toMatch(/"schemaVersion"|"latencyUs"/); // no raw JSON dumps

    await page.screenshot({ path: join(ARTIFACTS, 'report-screenshot.png'), fullPage: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report-first-screen.png') });
    await page.close();
  });

  it("keeps the auth-cost tables readable: a CPU figure breaks before its vCPU part, not the estimator's name", async () => {
    // The fixture with every estimator for light, enforce − off, as a quick study on this host read them
    // (2026-12-03): the significant CPU figure "+45.5 CPU µs/request (+0.045 vCPU per 1,000 req/s)", kept
    // on one line, squeezed the estimator names to six lines each at this width.
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Results;
    fixture.estimates = [
      lightEstimate('in-band-auth', 54.5, [48.5, 56], 0.016),
      lightEstimate('in-band-sidecar', 54, [45.5, 56.5], 0.016),
      lightEstimate('in-band-auth-cpu', 45.5, [40.5, 50], 0.016),
      lightEstimate('cpu', 20, [-27.7, 75.8], 1),
    ];
    const dir = join(ARTIFACTS, 'with-estimates');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'results.json'), JSON.stringify(fixture));
    const { htmlPath: withEstimates } = await writeReport(join(dir, 'results.json'), dir);
    const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
    await page.goto(pathToFileURL(withEstimates).href, { waitUntil: 'load' });
    // Lines of text per cell: one client rect per line box of the cell's contents.
    const lines = (await page.evaluate(`Array.from(document.querySelectorAll('#auth-cost tbody tr')).map((tr) => {
      const count = (el) => { const r = document.createRange(); r.selectNodeContents(el); return new Set(Array.from(r.getClientRects()).map((x) => Math.round(x.top))).size; };
      return { name: tr.querySelector('th').innerText, nameLines: count(tr.querySelector('th')), delta: tr.querySelector('td').innerText, deltaLines: count(tr.querySelector('td')) };
    })`)) as { name: string; nameLines: number; delta: string; deltaLines: number }[];
    const cpu = lines.find((l) => l.delta.includes('vCPU'));
    expect(cpu?.delta).toMatch(/^\+45\.5 CPU µs\/request\s+\(\+0\.045 vCPU per 1,000 req\/s\)$/);
    expect(cpu?.deltaLines).toBe(2);
    expect(lines.find((l) => l.delta === '+54.5 µs')?.deltaLines).toBe(1);
    for (const l of lines) expect(l.nameLines, l.name).toBeLessThanOrEqual(4);
    await page.screenshot({ path: join(dir, 'auth-cost.png'), fullPage: true });
    await page.close();
  });
});
