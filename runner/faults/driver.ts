import { Pool } from 'undici';

/** One request of a fault run. */
export interface LoggedRequest {
  /** Start, ms since the driver started (to the µs: the phases are split at the fault's start to the µs). */
  tMs: number;
  /** HTTP status; 0 when no response came (timeout or connection error). */
  status: number;
  latencyUs: number;
  /** The error body's `error.code` for a failed request (`ERR_DB_UNAVAILABLE`), or `timeout` / `network`. */
  code?: string;
  /** For `network`: what the connection did (`ECONNREFUSED`, `ECONNRESET`, `UND_ERR_SOCKET`, …). */
  cause?: string;
}

export interface DriverOptions {
  url: string;
  body: string;
  rateRps: number;
  connections: number;
  /** A request without a response after this long is logged as status 0, code `timeout` (default 5 000 ms). */
  timeoutMs?: number;
}

/** A running driver: `stop()` ends the schedule, waits for requests in flight and returns the log. */
export interface Driver {
  /** `performance.now()` at the start (log times are relative to it). */
  readonly t0: number;
  /** `Date.now()` at the same moment, to place epoch times (outages) on the log's clock. */
  readonly epoch0: number;
  stop(): Promise<LoggedRequest[]>;
}

/**
 * Steady load for a fault run: `connections` closed-loop connections, each starting requests on a
 * fixed schedule (rate ÷ connections per second, staggered), and every request logged with its start
 * time. A slow response delays only its own connection; starts it missed are skipped, not bunched,
 * so a fault shows as missing or failed requests where it happened.
 */
export function startDriver(o: DriverOptions): Driver {
  const pool = new Pool(new URL(o.url).origin, { connections: o.connections, pipelining: 1 });
  const path = new URL(o.url).pathname;
  const timeoutMs = o.timeoutMs ?? 5_000;
  const log: LoggedRequest[] = [];
  const t0 = performance.now();
  const epoch0 = Date.now();
  const intervalMs = (1000 * o.connections) / o.rateRps;
  let stopping = false;

  async function one(): Promise<void> {
    const start = performance.now();
    const entry: LoggedRequest = { tMs: Math.round((start - t0) * 1000) / 1000, status: 0, latencyUs: 0 };
    try {
      const res = await pool.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        body: o.body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      entry.status = res.statusCode;
      if (res.statusCode !== 200) entry.code = errorCode(text);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      entry.code = code.includes('TIMEOUT') ? 'timeout' : 'network';
      if (entry.code === 'network') entry.cause = code || (err as Error).name || 'error';
    }
    entry.latencyUs = Math.round((performance.now() - start) * 1000);
    log.push(entry);
  }

  async function connection(k: number): Promise<void> {
    let next = t0 + (k * intervalMs) / o.connections;
    while (!stopping) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopping) return;
      await one();
      next += intervalMs;
      // Skip starts the connection missed while waiting for a slow response: no catch-up burst.
      const now = performance.now();
      if (next < now) next += Math.ceil((now - next) / intervalMs) * intervalMs;
    }
  }

  const loops = Array.from({ length: o.connections }, (_, k) => connection(k));
  return {
    t0,
    epoch0,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      await pool.close();
      return log.sort((a, b) => a.tMs - b.tMs);
    },
  };
}

function errorCode(text: string): string {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : 'unknown';
  } catch {
    return 'unknown';
  }
}
