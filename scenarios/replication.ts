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
  quick: {
    workers: 5,
    repetitions: 3,
    warmupRequests: 100,
    queries: [
      // The study's "light" is a single-row INSERT into a log table: the sidecar's `write` query.
      { label: 'light', request: { query: 'write', params: { note: 'replication' }, weight: 1 }, requests: 1_000 },
      { label: 'heavy', request: { query: 'heavy', params: { n: HEAVY_N_DEFAULT }, weight: 1 }, requests: 250 },
    ],
  },
  full: {
    workers: 5,
    repetitions: 10,
    warmupRequests: 200,
    queries: [
      { label: 'light', request: { query: 'write', params: { note: 'replication' }, weight: 1 }, requests: 10_000 },
      { label: 'heavy', request: { query: 'heavy', params: { n: HEAVY_N_DEFAULT }, weight: 1 }, requests: 1_000 },
    ],
  },
};

export default replication;
