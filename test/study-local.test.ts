import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../runner/platforms/local/index.js';
import { runStudy } from '../runner/study/run-study.js';
import { discoverScenarios, selectScenarios } from '../runner/study/scenarios.js';
import type { Results } from '../results/schema.js';
import { buildAutocannonEngine } from '../runner/engines/autocannon.js';
import { buildK6Engine, findK6 } from '../runner/engines/k6.js';
import light from '../scenarios/light.js';
import { requestBody } from '../scenarios/scenario.js';

const k6 = await findK6();

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
      {
        engine: 'autocannon',
        scenarios: selectScenarios(await discoverScenarios(), ['light'], true, 'autocannon'),
        quick: true,
        trials: 4,
        // 2 s, not 1: a run is valid when ≥ 95 % of its scheduled requests went out, and at 1 s (100 requests)
        // being 7 short (70 ms of its schedule) voided one in a CI run on 2026-12-03, this file running alone.
        // At 2 s the same shortfall leaves 96.5 %.
        durationS: 2,
        design: 'interleaved',
        seed: 11,
        pairs: 2,
      },
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
      if (r.mode === 'observe' || r.mode === 'enforce') {
        expect(stages, r.id).toContain('sign');
        // Their CPU too, on the sampled requests: verifying costs CPU at the target (in-band CPU estimator).
        expect(stages, r.id).toEqual(expect.arrayContaining(['sign-cpu', 'peer-verify-cpu']));
        expect(r.serverTimingUs['peer-verify-cpu']!.p50, r.id).toBeGreaterThan(0);
      } else {
        expect(stages, r.id).not.toContain('sign');
        expect(
          stages.filter((s) => s.endsWith('-cpu')),
          r.id,
        ).toEqual([]);
      }
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

  it.skipIf(!k6)(
    `both engines measure the light scenario through enforce alike${k6 ? '' : ' (skipped: no k6 binary; install k6 or set K6_BIN)'}`,
    async () => {
      await platform.setPairMode(1, 'enforce');
      const requests = light.mix.map((m) => ({ body: requestBody(m), weight: m.weight }));
      const shape = {
        url: platform.targetUrl(1, 'enforce'),
        requests,
        connections: 1,
        rateRps: 100,
        durationS: 2,
        warmupS: 1,
        k6Script: light.k6Script,
      };
      // A-B-B-A, so that a host whose load drifts between the runs (on CI it shares 2 cores with other
      // test files; sequential A-B once differed by 1.7 ms) loads both engines alike.
      const ac = buildAutocannonEngine();
      const k6e = buildK6Engine();
      const abba = async () => [await ac.run(shape), await k6e.run(shape), await k6e.run(shape), await ac.run(shape)];
      let runs = await abba();
      // k6 marks a run invalid when it dropped arrivals: with 50 VUs pre-allocated at 100 req/s that
      // takes a stall of over half a second, which a CI host running other test files beside this one
      // has shown (load 4–5). Such a run says nothing about the engines, so the sequence is measured
      // once more; the second must be valid, and only a valid sequence is compared.
      if (!runs[1]!.valid || !runs[2]!.valid) runs = await abba();
      for (const r of runs) expect(r.errors).toEqual({});
      for (const r of [runs[1]!, runs[2]!]) expect(r.valid, r.invalidReason ?? '').toBe(true);
      const p50 = (r: (typeof runs)[number]) => r.latency.getValueAtPercentile(50);
      const a = (p50(runs[0]!) + p50(runs[3]!)) / 2;
      const b = (p50(runs[1]!) + p50(runs[2]!)) / 2;
      // Same system, same rate: the engines' medians agree to within 1.5 ms or half the median.
      expect(Math.abs(a - b)).toBeLessThan(Math.max(1_500, 0.5 * Math.min(a, b)));
    },
    90_000,
  );
});
