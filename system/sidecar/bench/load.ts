/**
 * Load for the sidecar benches: k6 at a fixed arrival rate (latency and CPU per request at a planned
 * load) and autocannon closed loops (saturation: the most requests/s a target answers).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { findK6 } from '../../../runner/engines/k6.js';

const K6_SCRIPT = fileURLToPath(new URL('./fixed-rate.k6.js', import.meta.url));

export interface FixedRateResult {
  p50Us: number;
  p99Us: number;
  requests: number;
  /** Requests of the warm-up and the measured phase: CPU read around the whole k6 run is divided by this. */
  allRequests: number;
  failedRate: number;
  /** Iterations k6 could not start on schedule in the measured phase (the target was offered fewer). */
  dropped: number;
  /** The same over the warm-up and the measured phase (a fresh process's cold start drops some). */
  allDropped: number;
}

export interface FixedRateOptions {
  url: string;
  body: string;
  rateRps: number;
  durationS: number;
  warmupS: number;
  authorization?: string;
}

/** Runs k6 at `rateRps` against `url`. Throws when k6 is missing or fails. */
export async function k6FixedRate(o: FixedRateOptions): Promise<FixedRateResult> {
  const bin = await findK6();
  if (!bin) throw new Error('k6 not found: put k6 on PATH or set K6_BIN (.ci/run builds it with go install)');
  const env = {
    ...process.env,
    TARGET: o.url,
    BODY: o.body,
    RATE: String(o.rateRps),
    DURATION: String(o.durationS),
    WARMUP: String(o.warmupS),
    AUTHORIZATION: o.authorization ?? '',
    K6_NO_USAGE_REPORT: 'true',
  };
  const child = spawn(bin, ['run', '--quiet', '--no-thresholds', K6_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-3000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const line = out.split('\n').find((l) => l.startsWith('{"p50Ms"'));
  if (code !== 0 || !line) throw new Error(`k6 exited with ${code}: ${err.trim() || out.trim()}`);
  // The script's summary line: the result's counts as they are, its quantiles in ms.
  const r = JSON.parse(line) as Omit<FixedRateResult, 'p50Us' | 'p99Us'> & { p50Ms: number; p99Ms: number };
  return { ...r, p50Us: r.p50Ms * 1000, p99Us: r.p99Ms * 1000 };
}

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
