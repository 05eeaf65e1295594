import { describe, expect, it } from 'vitest';
import type { RefreshPolicyName } from '../system/sidecar/token/index.js';
import { runPolicyStorm, type PolicyRunResult } from '../runner/storm/policy-run.js';
import { createSimulatedIdp } from './support/simulated-idp.js';
import { createVirtualClock } from './support/virtual-clock.js';
import { mulberry32 } from '../results/stats/prng.js';

/** Seeded uniform [0,1), so a policy's draws are the same on every run. */
const seeded = mulberry32;

const SERVICES = 3_000;
const TTL_S = 30;
const CAPACITY_RPS = 1_000;

/**
 * The real token sources of system/sidecar on a virtual timeline against a modelled IdP (a FIFO
 * server of fixed capacity): 3,000 services over 6 lifetimes run in well under a second, so the
 * policies' shapes can be compared exactly; the real IdP is exercised by storm.test.ts.
 */
async function storm(policy: RefreshPolicyName, settleLifetimes: number, steadyLifetimes: number): Promise<PolicyRunResult> {
  const clock = createVirtualClock();
  const idp = createSimulatedIdp({ clock, capacityRps: CAPACITY_RPS, ttlSeconds: TTL_S });
  return runPolicyStorm({
    policy,
    services: SERVICES,
    ttlSeconds: TTL_S,
    settleLifetimes,
    steadyLifetimes,
    fetchFor: idp.fetchFor,
    clock,
    nowMs: clock.now,
    sleep: (ms) => clock.advance(ms),
    random: seeded(42),
  });
}

const ratio = (r: PolicyRunResult) => r.record.peakIdpRps / r.record.meanIdpRps;

describe('token storm policies (virtual timeline, real token sources)', () => {
  it('cold start: every service holds a token once the IdP has worked through the burst', async () => {
    const r = await storm('window', 0, 1);
    expect(r.holdersAfterColdStart).toBe(SERVICES);
    expect(r.holdersAtEnd).toBe(SERVICES);
    expect(r.record.failed).toBe(0);
    // The burst is IdP-bound: N / capacity seconds (3 s), not instant and not much more.
    expect(r.record.timeToAllTokensMs).toBeGreaterThanOrEqual(2_900);
    expect(r.record.timeToAllTokensMs).toBeLessThanOrEqual(3_100);
    // One steady lifetime of 1 s buckets, timestamped from the cold start.
    expect(r.record.idpRpsSeries.length).toBe(TTL_S);
    expect(r.record.idpRpsSeries[0]![0]).toBe(3_000);
  });

  it('window (default) settles within 1.5× of its mean once the cold-start echo has passed', async () => {
    const settled = await storm('window', 2, 3);
    expect(settled.record.failed).toBe(0);
    expect(ratio(settled)).toBeLessThanOrEqual(1.5);
    // Long-run rate of a renewal at 70% of the lifetime on average: N / (0.7 · ttl).
    expect(settled.record.meanIdpRps).toBeGreaterThan((SERVICES / (0.7 * TTL_S)) * 0.9);
    expect(settled.record.meanIdpRps).toBeLessThan((SERVICES / (0.7 * TTL_S)) * 1.1);
    // Right after the cold start the first refresh wave packs N into 40% of a lifetime (1.75×).
    const echo = await storm('window', 0, 1);
    expect(ratio(echo)).toBeGreaterThan(1.5);
  });

  it('kubelet (fixed 80%) keeps the cold-start herd forever; jittered policies spread it', async () => {
    const kubelet = await storm('kubelet', 2, 3);
    const window = await storm('window', 2, 3);
    // The herd comes back every 0.8 · ttl at the IdP's full capacity.
    expect(kubelet.record.peakIdpRps).toBeGreaterThan(0.9 * CAPACITY_RPS);
    expect(ratio(kubelet)).toBeGreaterThan(2 * ratio(window));
  });

  it('uniform(now, exp) spreads fastest but costs the IdP ~40% more requests than window', async () => {
    const uniform = await storm('uniform-now-exp', 2, 3);
    const window = await storm('window', 2, 3);
    expect(ratio(uniform)).toBeLessThanOrEqual(ratio(window));
    // Mean refresh at 50% vs 70% of the lifetime: 0.7 / 0.5 = 1.4× the requests.
    const more = uniform.record.meanIdpRps / window.record.meanIdpRps;
    expect(more).toBeGreaterThan(1.25);
    expect(more).toBeLessThan(1.55);
  });
});
