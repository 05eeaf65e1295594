import { describe, expect, it } from 'vitest';
import { trialsForFamily } from '../../results/stats/index.js';
import { discoverScenarios } from './scenarios.js';
import { COMPARED } from './comparisons.js';

/** What one heavy aggregate took, at most, when four pairs' heavies overlapped on the 2-core reference host (alone: 210–330 ms). */
const HEAVY_OVERLAPPED_MS = 1600;

describe('default scenario profiles', () => {
  it('give every default scenario enough trials for one real effect to pass Holm over the default study', async () => {
    const all = [...(await discoverScenarios()).values()];
    for (const quick of [true, false]) {
      const loads = all.flatMap((s) => (s.kind === 'load' && s.defaultIn[quick ? 'quick' : 'full'] ? [s] : []));
      // Per scenario: p50 and p99 of each comparison, and 10 auth-cost estimates (in-band-auth and
      // in-band-auth-cpu skip direct → off); a calibration study adds observe → enforce (2 comparisons,
      // 4 estimates).
      const perScenario = COMPARED.length * 2 + 10 + 6;
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
        const heaviest = s.mix.some((m) => m.query === 'heavy') ? HEAVY_OVERLAPPED_MS : 40;
        expect({ scenario: s.name, intervalMs: Math.max(intervalMs, heaviest) }).toEqual({ scenario: s.name, intervalMs });
      }
    }
  });

  it('ask for at most about half of a 2-core host in heavy aggregates, and run long enough for one to finish', async () => {
    const all = [...(await discoverScenarios()).values()];
    const PAIRS = 4;
    const HEAVY_CPU_S = 0.3; // upper end of a heavy aggregate alone on the reference host
    for (const s of all) {
      if (s.kind !== 'load') continue;
      const total = s.mix.reduce((a, m) => a + m.weight, 0);
      const heavyShare = s.mix.filter((m) => m.query === 'heavy').reduce((a, m) => a + m.weight, 0) / total;
      for (const [profile, p] of [
        ['quick', s.quick],
        ['full', s.full],
      ] as const) {
        if (p.rateRps === null || heavyShare === 0) continue;
        const cores = PAIRS * p.rateRps * heavyShare * HEAVY_CPU_S;
        expect({ scenario: s.name, profile, heavyCores: Math.min(cores, 1.2) }).toEqual({ scenario: s.name, profile, heavyCores: cores });
        // A quick run that ends before any heavy could finish has no successful response: invalid.
        expect({ scenario: s.name, profile, durationS: Math.max(p.durationS, HEAVY_OVERLAPPED_MS / 1000) }).toEqual({
          scenario: s.name,
          profile,
          durationS: p.durationS,
        });
      }
    }
  });
});
