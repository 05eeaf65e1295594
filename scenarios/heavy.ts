import type { LoadScenario } from './scenario.js';
import { HEAVY_N_DEFAULT } from '../system/protocol/roles.js';

/** Aggregate over a million generated rows: tens of ms in PostgreSQL, so auth is a small share. */
const heavy: LoadScenario = {
  kind: 'load',
  name: 'heavy',
  description: 'COUNT/AVG over generate_series(1, 1,000,000): tens of ms of database work per request.',
  defaultIn: { quick: true, full: true },
  order: 20,
  engines: ['autocannon', 'k6'],
  mix: [{ query: 'heavy', params: { n: HEAVY_N_DEFAULT }, weight: 1 }],
  // 210–330 ms of PostgreSQL CPU each when alone (measured on the 2-core reference host, Node 24,
  // PostgreSQL 17): 1 req/s on each of four pairs is ~1 of the 2 cores, so the latency is mostly the
  // query's, not a queue's. At 2 req/s per pair (the old default) the four pairs asked for the whole
  // machine: queries took 0.9–1.3 s, 29 of 48 full-study runs delivered < 95% of their schedule, and
  // in quick studies (1.5 s runs) up to 39 of 48 runs ended with no query finished inside the window.
  // 2 connections at 0.5 req/s each (one start every 2 s): a query slowed to 1.0–1.6 s by overlap never
  // holds the schedule back. Quick runs last 3 s so each connection's first query ends inside them.
  // Quick has 12 trials too (short ones): with 3 the exact signed-rank p cannot go below 2/2^3 = 0.25,
  // so no effect could ever pass Holm over the quick study's ~28 tests (needs 2/2^n < 0.05/28: n ≥ 11).
  quick: { connections: 2, rateRps: 1, durationS: 3, warmupS: 0.5, trials: 12 },
  // 12 trials: see light.ts (Holm across the study needs 2/2^n < 0.05/m).
  full: { connections: 2, rateRps: 1, durationS: 8, warmupS: 1, trials: 12 },
  k6Script: 'heavy.ts',
};

export default heavy;
