import { describe, expect, it } from 'vitest';
import { trialsForFamily } from '../../results/stats/index.js';
import { discoverScenarios } from './scenarios.js';
import { COMPARED } from './comparisons.js';

describe('default scenario profiles', () => {
  it('give every default scenario enough trials for one real effect to pass Holm over the default study', async () => {
    const all = [...(await discoverScenarios()).values()];
    for (const quick of [true, false]) {
      const loads = all.flatMap((s) => (s.kind === 'load' && s.defaultIn[quick ? 'quick' : 'full'] ? [s] : []));
      // Per scenario: p50 and p99 of each comparison, and 8 auth-cost estimates (in-band-auth skips
      // direct → off); a calibration study adds observe → enforce (2 comparisons, 3 estimates).
      const perScenario = COMPARED.length * 2 + 8 + 5;
      const m = loads.length * perScenario;
      for (const s of loads) {
        const n = (quick ? s.quick : s.full).trials;
        expect({ scenario: s.name, quick, trials: n }).toEqual({ scenario: s.name, quick, trials: Math.max(n, trialsForFamily(m)) });
      }
    }
  });

  it('pace each connection slower than its heaviest request takes under load, so rate-driven runs can deliver', async () => {
    const all = [...(await discoverScenarios()).values()];
    for (const s of all) {
      if (s.kind !== 'load') continue;
      for (const p of [s.quick, s.full]) {
        if (p.rateRps === null) continue;
        const intervalMs = 1000 / (p.rateRps / p.connections);
        // A heavy aggregate takes ~100 ms alone and 200–400 ms when four pairs' overlap on 2 cores.
        const heaviest = s.mix.some((m) => m.query === 'heavy') ? 400 : 40;
        expect({ scenario: s.name, intervalMs: Math.max(intervalMs, heaviest) }).toEqual({ scenario: s.name, intervalMs });
      }
    }
  });
});
