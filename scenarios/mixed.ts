import type { LoadScenario } from './scenario.js';
import { HEAVY_N_DEFAULT } from '../system/protocol/roles.js';

/** 90 % point reads, 10 % heavy aggregates: light requests queue behind heavy ones. */
const mixed: LoadScenario = {
  kind: 'load',
  name: 'mixed',
  description: '90% light point reads, 10% heavy aggregates (n = 1,000,000) on the same connections.',
  defaultIn: { quick: false, full: true },
  order: 40,
  engines: ['autocannon', 'k6'],
  mix: [
    { query: 'light', params: { id: 1 }, weight: 90 },
    { query: 'heavy', params: { n: HEAVY_N_DEFAULT }, weight: 10 },
  ],
  // 20 req/s per pair = 2 heavy/s per pair: the heavy share alone is ~0.8 of 2 cores.
  // 10 connections at 2 req/s each (one start every 500 ms): with 4 at 5 req/s a heavy request, which
  // takes 200–400 ms when four pairs' heavies overlap on 2 cores, held its connection past the next
  // start(s) and runs delivered < 95% of their schedule (invalid). Quick: 12 trials, see heavy.ts.
  quick: { connections: 10, rateRps: 20, durationS: 2, warmupS: 0.5, trials: 12 },
  // 12 trials: see light.ts (Holm across the study needs 2/2^n < 0.05/m).
  full: { connections: 10, rateRps: 20, durationS: 8, warmupS: 1, trials: 12 },
  k6Script: 'mixed.ts',
};

export default mixed;
