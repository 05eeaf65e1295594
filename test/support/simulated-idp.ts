import type { Clock, FetchedToken } from '../../system/sidecar/token/index.js';

export interface SimulatedIdpOptions {
  clock: Clock;
  /** Token exchanges the simulated IdP completes per second (one FIFO server). */
  capacityRps: number;
  /** Lifetime of the tokens it issues, seconds. */
  ttlSeconds: number;
}

/**
 * A model of the IdP for virtual-time storms: a single FIFO server completing `capacityRps`
 * exchanges per second, issuing tokens with whole-second `iat`/`exp` like a JWT. Its only purpose
 * is to let policy comparisons run thousands of token sources over several lifetimes in well under
 * a second; measured figures come from the real IdP (`runTokenStorm`).
 */
export function createSimulatedIdp(opts: SimulatedIdpOptions): {
  fetchFor: (index: number) => () => Promise<FetchedToken>;
  served: () => number;
} {
  const serviceMs = 1000 / opts.capacityRps;
  let busyUntil = 0;
  let served = 0;
  const fetch = () =>
    new Promise<FetchedToken>((resolve) => {
      const now = opts.clock.now();
      busyUntil = Math.max(now, busyUntil) + serviceMs;
      opts.clock.setTimeout(() => {
        served++;
        const iat = Math.floor(opts.clock.now() / 1000);
        resolve({ accessToken: `sim.${served}`, issuedAt: iat * 1000, expiresAt: (iat + opts.ttlSeconds) * 1000 });
      }, busyUntil - now);
    });
  return { fetchFor: () => fetch, served: () => served };
}
