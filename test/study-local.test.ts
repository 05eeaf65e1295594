import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../runner/platforms/local/index.js';
import { runStudy } from '../runner/study/run-study.js';
import type { Results } from '../reports/schema.js';

/**
 * The study against the real local platform (PostgreSQL, identity, IdP, sidecars as processes):
 * modes really switch (the caller signs only in observe/enforce), grants let every mode through,
 * and the comparisons come out of real runs.
 */
describe('runStudy on the local platform', () => {
  let platform: LocalPlatform;
  let results: Results;
  const lines: string[] = [];
  beforeAll(async () => {
    platform = await startLocalPlatform({ pairs: 2 });
    results = await runStudy(
      { engine: 'autocannon', scenarios: ['light'], quick: true, trials: 4, durationS: 1, design: 'interleaved', seed: 11, pairs: 2 },
      platform,
      { phase: () => {}, trial: () => {}, log: (l) => lines.push(l) },
    );
  }, 120_000);
  afterAll(async () => {
    await platform?.close();
  });

  it('runs every mode over the trials with no failed request', () => {
    expect(results.runs).toHaveLength(8);
    expect(new Set(results.runs.map((r) => r.mode)).size).toBe(4);
    for (const r of results.runs) {
      expect(r.requests.errors, r.id).toEqual({});
      expect(r.valid, `${r.id}: ${r.invalidReason}`).toBe(true);
      expect(r.requests.ok).toBeGreaterThan(20);
    }
  });

  it('applies each mode: the caller signs in observe/enforce only, direct hits the target database', () => {
    for (const r of results.runs) {
      const stages = Object.keys(r.serverTimingUs);
      if (r.mode === 'direct') expect(stages, r.id).toContain('db');
      else expect(stages, r.id).toContain('upstream');
      if (r.mode === 'observe' || r.mode === 'enforce') expect(stages, r.id).toContain('sign');
      else expect(stages, r.id).not.toContain('sign');
    }
  });

  it('reports comparisons with integer µs and the harness floor', () => {
    expect(results.comparisons.filter((c) => c.scenario === 'light')).toHaveLength(6);
    for (const c of results.comparisons) {
      expect(Number.isInteger(c.deltaUs)).toBe(true);
      expect(c.pValue).toBeGreaterThanOrEqual(0);
    }
    expect(results.harnessFloor?.[0]?.maxRps).toBeGreaterThan(0);
    expect(results.study.git.commit).toMatch(/^[0-9a-f]{40}$/);
  });
});
