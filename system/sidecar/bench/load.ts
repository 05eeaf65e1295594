/**
 * Closed-loop load for the sidecar benches: autocannon at saturation (the most requests/s a target
 * answers). Fixed-rate load (k6, latency and CPU per request at a planned rate) is sliced-rate.ts.
 */
import autocannon from 'autocannon';

export interface SaturationResult {
  rps: number;
  errors: number;
  p50Ms: number;
  /** CPU µs per request of the measured run alone (not its warm-up), when `cpuSeconds` was given. */
  cpuUsPerRequest?: number;
  /** Requests sent, warm-up included (what a CPU profile of the server covers). */
  allRequests: number;
}

/**
 * Closed loop of `connections` against `url` for `durationS` (after a 1 s warm-up): requests/s answered 2xx.
 * With `cpuSeconds` (a process's CPU clock), also its CPU per request over the measured run only, so a
 * contender that starts cold (its process idle while another was measured) does not carry its warm-up.
 */
export async function saturate(
  url: string,
  body: string,
  connections: number,
  durationS: number,
  opts: { authorization?: string; cpuSeconds?: () => Promise<number | null> } = {},
): Promise<SaturationResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.authorization) headers.authorization = opts.authorization;
  const run = (duration: number) =>
    new Promise<autocannon.Result>((resolve, reject) =>
      autocannon({ url, method: 'POST', headers, body, connections, pipelining: 1, duration }, (e, r) => (e ? reject(e) : resolve(r))),
    );
  const warm = await run(1);
  const cpu0 = await opts.cpuSeconds?.();
  const r = await run(durationS);
  const cpu1 = await opts.cpuSeconds?.();
  const errors = r.non2xx + r.errors + r.timeouts;
  const cpuUsPerRequest = cpu0 != null && cpu1 != null && r.requests.total > 0 ? ((cpu1 - cpu0) / r.requests.total) * 1e6 : undefined;
  return {
    rps: (r.requests.total - errors) / durationS,
    errors,
    p50Ms: r.latency.p50,
    cpuUsPerRequest,
    allRequests: warm.requests.total + r.requests.total,
  };
}
