import { Pool } from 'undici';
import type { RunMode } from '../../system/protocol/modes.js';
import type { Platform } from '../platforms/platform.js';

/** How much priming each (pair, mode) gets before a load scenario's first trial: whichever ends first. */
export interface PrimeBudget {
  requests: number;
  ms: number;
}

/** Enough for V8 to optimise the request path (sign, verify, forward, query), bounded for heavy queries. */
export const DEFAULT_PRIME: PrimeBudget = { requests: 400, ms: 2_000 };

export interface PrimeOptions {
  platform: Pick<Platform, 'setPairMode' | 'targetUrl'>;
  pairs: readonly number[];
  /** The modes the scenario will run, each primed in turn (as configured: an A/A study primes off). */
  modes: readonly RunMode[];
  /** Request bodies of the scenario's mix, sent round robin. */
  bodies: readonly string[];
  connections: number;
  budget?: PrimeBudget;
  signal?: AbortSignal;
}

export interface PrimeResult {
  /** Requests sent per mode (all pairs together), and how many were not 2xx. */
  perMode: { mode: RunMode; sent: number; failed: number }[];
  ms: number;
}

/**
 * Primes every pair in every mode before a scenario's first trial: a short closed loop of the
 * scenario's own requests through each pair's target, so each component's code paths are compiled
 * and optimised by V8, connection pools are filled and the database's caches are warm before anything
 * is measured. Without it the first trial measured a cold system: in a quick study its CPU per request
 * was 5–20× the later trials', which the per-trial pairing cannot cancel (each mode warms at its own pace).
 * Priming is not a measurement: nothing from it enters results.json (the progress log says what it sent).
 */
export async function primePairs(o: PrimeOptions): Promise<PrimeResult> {
  const budget = o.budget ?? DEFAULT_PRIME;
  const t0 = performance.now();
  const perMode: PrimeResult['perMode'] = [];
  for (const mode of o.modes) {
    o.signal?.throwIfAborted();
    await Promise.all(o.pairs.map((p) => o.platform.setPairMode(p, mode)));
    const counts = await Promise.all(o.pairs.map((p) => drive(o.platform.targetUrl(p, mode), o, budget)));
    perMode.push({
      mode,
      sent: counts.reduce((s, c) => s + c.sent, 0),
      failed: counts.reduce((s, c) => s + c.failed, 0),
    });
  }
  return { perMode, ms: Math.round(performance.now() - t0) };
}

async function drive(url: string, o: PrimeOptions, budget: PrimeBudget): Promise<{ sent: number; failed: number }> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: o.connections });
  const end = performance.now() + budget.ms;
  let next = 0;
  let sent = 0;
  let failed = 0;
  const loop = async () => {
    while (next < budget.requests && performance.now() < end && !o.signal?.aborted) {
      const body = o.bodies[next++ % o.bodies.length]!;
      sent++;
      try {
        const res = await pool.request({
          method: 'POST',
          path: u.pathname + u.search,
          headers: { 'content-type': 'application/json' },
          body,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        await res.body.dump();
        if (res.statusCode < 200 || res.statusCode > 299) failed++;
      } catch {
        failed++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: o.connections }, loop));
  } finally {
    await pool.close();
  }
  return { sent, failed };
}
