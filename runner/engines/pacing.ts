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

/** How far behind its schedule a connection may fall and still make the missed starts up, ms. */
export const MAX_LAG_MS = 250;

/**
 * Paces one autocannon connection to `rateRps`: its requests start on a fixed schedule, one every
 * 1/rate s from a random phase, so connections (and pairs driven at once) do not fire in step.
 * The schedule is fixed, as an open loop's arrival rate is: a request starts only after the
 * connection's previous response, but a start that a slow response (or a stall of this process)
 * delayed is made up right after it, so slow periods are sampled at the planned rate rather than
 * skipped. Response times are still measured from the actual send (no coordinated-omission
 * "correction"). Starts more than {@link MAX_LAG_MS} behind are given up — the run then delivers
 * fewer than scheduled and is invalid (runner/study/run-record.ts) — so a long stall never turns
 * into a burst. With enough connections that each one's interval exceeds the target's latency
 * (light: 4 × 25 req/s), the schedule holds.
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
    if (now - nextMs > MAX_LAG_MS) nextMs = now;
    const at = Math.max(nextMs, now);
    nextMs += intervalMs;
    if (at <= now) {
      send(...args);
      return;
    }
    setTimeout(() => {
      if (!c.destroyed) send(...args);
    }, at - now);
  };
}
