import type { LoadScenario } from './scenario.js';

/** Point reads by primary key: the request where auth's fixed cost is the largest share. */
const light: LoadScenario = {
  kind: 'load',
  name: 'light',
  description: 'Point read by primary key (microseconds of database work): auth cost is most visible here.',
  defaultIn: { quick: true, full: true },
  order: 10,
  engines: ['autocannon', 'k6'],
  // Several keys so the read is not one hot row; equal weights.
  mix: [1, 2, 3, 4, 5, 6, 7, 8].map((id) => ({ query: 'light' as const, params: { id }, weight: 1 })),
  // 200 req/s per pair (800 in all, each through two sidecars) stays well under saturation of
  // 2 cores: latency should measure work, not queueing.
  // 12 short trials rather than 3 long ones — the unit of statistics is the trial, and every p is
  // Holm-adjusted across the study's family (m ≈ 28 tests quick, ≈ 56 full): the exact signed-rank
  // floor 2/2^n must sit below 0.05/m for a single real effect to pass, and 2/2^12 = 0.00049 does up
  // to m = 102 (8 trials: 0.0078, only m ≤ 6). 12 = three complete Latin squares, so pair effects
  // are balanced across modes.
  quick: { connections: 1, rateRps: 200, durationS: 1.5, warmupS: 0.5, trials: 12 },
  full: { connections: 1, rateRps: 200, durationS: 10, warmupS: 2, trials: 12 },
  k6Script: 'light.ts',
};

export default light;
