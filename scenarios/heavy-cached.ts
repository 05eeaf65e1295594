import type { LoadScenario } from './scenario.js';
import { HEAVY_N_DEFAULT } from '../system/protocol/roles.js';

/**
 * The seed's cache use case: the heavy SELECT's result cached in Redis by the target's sidecar
 * (its own ACL user and key prefix), invalidated by `write`. With no writes in the mix every request
 * after the first is a hit, so the data tier costs a Redis round trip and auth becomes a large share
 * of the request — set beside `heavy`, where the same auth cost vanishes in tens of ms of PostgreSQL.
 */
const heavyCached: LoadScenario = {
  kind: 'load',
  name: 'heavy-cached',
  description: 'The heavy aggregate served from a per-service Redis cache (hit after the first request; a write invalidates it).',
  defaultIn: { quick: false, full: false },
  order: 25,
  needs: ['redis'],
  engines: ['autocannon', 'k6'],
  mix: [{ query: 'heavy-cached', params: { n: HEAVY_N_DEFAULT }, weight: 1 }],
  // Cache hits cost about what `light` does, so the light scenario's profile applies.
  // (12 short quick trials, as in light.ts: fewer cannot pass Holm over a study's tests).
  quick: { connections: 4, rateRps: 100, durationS: 1.5, warmupS: 0.5, trials: 12 },
  full: { connections: 4, rateRps: 100, durationS: 8, warmupS: 1, trials: 12 },
  k6Script: 'heavy-cached.ts',
};

export default heavyCached;
