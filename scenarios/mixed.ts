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
  // 4 connections at 5 req/s each: a heavy request (~100 ms) does not hold the schedule back.
  quick: { connections: 4, rateRps: 20, durationS: 3, warmupS: 1, trials: 3 },
  // 12 trials: see light.ts (Holm across the study needs 2/2^n < 0.05/m).
  full: { connections: 4, rateRps: 20, durationS: 8, warmupS: 2, trials: 12 },
  k6Script: 'mixed.ts',
};

export default mixed;
