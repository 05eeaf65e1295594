import type { ReplicationScenario } from './scenario.js';
import { HEAVY_N_DEFAULT } from '../system/protocol/roles.js';

/**
 * The published design: closed loop, 5 workers, fixed request counts, auth on vs off, 10
 * repetitions, mean only (it concluded "auth makes requests 27% slower"). authlab runs the same
 * design and reports means and quantiles with CIs, light and heavy, in absolute µs.
 */
const replication: ReplicationScenario = {
  kind: 'replication',
  name: 'replication',
  description: 'Replication of a mean-only study: 5 workers, fixed counts, auth on vs off, repeated.',
  defaultIn: { quick: false, full: false },
  order: 50,
  authOn: 'enforce',
  authOff: 'off',
  // Quick is a smoke run (heavy below the published 250–1,000; ~1–2 min on 2 cores). Full is the
  // published design at its largest counts: 2 × 10 × 1,000 heavy queries take ~15–25 min on 2 cores.
  quick: {
    workers: 5,
    repetitions: 3,
    queries: [
      // The study's "light" is a single-row INSERT into a log table: the sidecar's `write` query.
      { label: 'light', request: { query: 'write', params: { note: 'replication' }, weight: 1 }, requests: 1_000, warmupRequests: 100 },
      { label: 'heavy', request: { query: 'heavy', params: { n: HEAVY_N_DEFAULT }, weight: 1 }, requests: 100, warmupRequests: 10 },
    ],
  },
  full: {
    workers: 5,
    repetitions: 10,
    queries: [
      { label: 'light', request: { query: 'write', params: { note: 'replication' }, weight: 1 }, requests: 10_000, warmupRequests: 200 },
      { label: 'heavy', request: { query: 'heavy', params: { n: HEAVY_N_DEFAULT }, weight: 1 }, requests: 1_000, warmupRequests: 20 },
    ],
  },
};

export default replication;
