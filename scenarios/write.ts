import type { LoadScenario } from './scenario.js';

/** Single-row INSERTs into the log table: needs the `write` role, and a WAL flush per request. */
const write: LoadScenario = {
  kind: 'load',
  name: 'write',
  description: 'Single-row INSERT into a log table (write role; one commit per request).',
  defaultIn: { quick: false, full: true },
  order: 30,
  engines: ['autocannon', 'k6'],
  mix: [{ query: 'write', params: { note: 'authlab' }, weight: 1 }],
  // 4 connections at 25 req/s each: the schedule holds unless an INSERT takes 40 ms (see light.ts).
  // Quick: 12 trials, see heavy.ts.
  quick: { connections: 4, rateRps: 100, durationS: 1.5, warmupS: 0.5, trials: 12 },
  // 12 trials: see light.ts (Holm across the study needs 2/2^n < 0.05/m).
  full: { connections: 4, rateRps: 100, durationS: 5, warmupS: 1, trials: 12 },
  k6Script: 'write.ts',
};

export default write;
