import { createRequire } from 'node:module';

/** The private method of autocannon's Client that writes the next request (autocannon 7–9). */
interface PaceableClient {
  _doRequest: (...args: unknown[]) => void;
  destroyed: boolean;
}

/**
 * Whether this autocannon has the hook pacing needs. When it does not (another major version), the
 * engine falls back to autocannon's own rate limit, which sends each second's quota as a burst.
 */
export const PACING_SUPPORTED: boolean = (() => {
  try {
    const Client = createRequire(import.meta.url)('autocannon/lib/httpClient.js') as { prototype?: { _doRequest?: unknown } };
    return typeof Client.prototype?._doRequest === 'function';
  } catch {
    return false;
  }
})();

/**
 * Paces one autocannon connection to `rateRps`: its requests start on a fixed schedule, one every
 * 1/rate s from a random phase, so connections (and pairs driven at once) do not fire in step.
 * It stays a closed loop: a request starts only after the previous response; a late response
 * moves the schedule on rather than firing a catch-up burst (no coordinated-omission "correction").
 *
 * autocannon's own rate limit instead sends each second's quota back-to-back at the start of the
 * second and then idles, so every pair bursts at once and a measured window sees a share of bursts
 * that depends on how fast the target is.
 *
 * @param rateRps requests/s of this connection (> 0)
 * @param rand uniform [0, 1) source for the start phase
 */
export function paceClient(client: unknown, rateRps: number, rand: () => number): void {
  const c = client as PaceableClient;
  const send = c._doRequest.bind(c);
  const intervalMs = 1000 / rateRps;
  let nextMs = performance.now() + rand() * intervalMs;
  c._doRequest = (...args: unknown[]) => {
    const now = performance.now();
    const at = Math.max(nextMs, now);
    nextMs = at + intervalMs;
    if (at <= now) {
      send(...args);
      return;
    }
    setTimeout(() => {
      if (!c.destroyed) send(...args);
    }, at - now);
  };
}
