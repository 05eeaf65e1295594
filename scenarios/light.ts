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
  // 100 req/s per pair (400 in all, each through two sidecars): at 200 (800 in all) the sidecars
  // alone took ~1.3 of the 2 cores (≈ 1.8 ms CPU per request on a shared host) and requests queued
  // for tens of ms, so latency measured queueing, not work.
  // 4 connections, each paced to 25 req/s (one request every 40 ms): the fixed schedule holds unless
  // a response takes longer than 40 ms; one connection at the full rate fell behind as soon as
  // latency passed its interval and under-sampled the slow periods. A run that delivers < 95% of its
  // schedule is invalid (runner/study/run-record.ts).
  // 12 short trials rather than 3 long ones — the unit of statistics is the trial, and every p is
  // Holm-adjusted across the study's family (m ≈ 28 tests quick, ≈ 56 full): the exact signed-rank
  // floor 2/2^n must sit below 0.05/m for a single real effect to pass, and 2/2^12 = 0.00049 does up
  // to m = 102 (8 trials: 0.0078, only m ≤ 6). 12 = three complete Latin squares, so pair effects
  // are balanced across modes.
  quick: { connections: 4, rateRps: 100, durationS: 1.5, warmupS: 0.5, trials: 12 },
  // 1 s of warm-up per run is enough since CPU is counted over the measured window only (run-load.ts).
  full: { connections: 4, rateRps: 100, durationS: 10, warmupS: 1, trials: 12 },
  k6Script: 'light.ts',
};

export default light;
