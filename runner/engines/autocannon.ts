import autocannon from 'autocannon';
import type { Client } from 'autocannon';
import { RunRecorder } from './histogram.js';
import { loadProcess } from './load-process.js';
import { cycleLength, mixCycle } from './mix.js';
import { LAST_BYTE_SUPPORTED, timeToLastByte } from './last-byte.js';
import { PACING_SUPPORTED, paceClient } from './pacing.js';
import { mulberry32 } from '../../results/stats/index.js';
import type { Engine, EngineResult, EngineRunOptions } from './types.js';

/** Per-request time-out, seconds: a response slower than this is counted as error `timeout`. */
const TIMEOUT_S = 10;

const REQUEST_HEADERS = { 'content-type': 'application/json' };

interface ClientState {
  serverTiming: string | null;
}

export interface AutocannonEngineOptions {
  /**
   * Run autocannon on the caller's event loop instead of the load process (default false). Only for
   * measuring what the separate process buys (runner/engines/floor.bench.ts).
   */
  inProcess?: boolean;
}

/**
 * autocannon, closed loop at fixed connections; with `rateRps`, each connection is paced to its
 * share of the rate (see pacing.ts for why not autocannon's own per-second limiter). autocannon's
 * own histogram is in whole ms and its coordinated-omission correction invents samples under a rate,
 * so it is switched off and every response time is recorded here, in µs, from the client's hrtime
 * measurement, taken to the response's last byte (last-byte.ts), not to the end of autocannon's parse.
 *
 * Runs execute in the load process (load-process.ts), a child with its own event loop, so that what
 * the orchestrator does meanwhile (progress, the live series, a floor's null endpoint, timers) does
 * not delay sends or response timestamps; results come back in the same shape.
 */
export function buildAutocannonEngine(options: AutocannonEngineOptions = {}): Engine {
  if (options.inProcess) {
    return { name: 'autocannon', model: 'closed', unavailable: async () => null, run: (o) => runAutocannon(o) };
  }
  const runMany = (runs: readonly EngineRunOptions[]): Promise<EngineResult[]> => loadProcess().runMany(runs);
  return {
    name: 'autocannon',
    model: 'closed',
    unavailable: async () => null,
    run: async (o) => (await runMany([o]))[0] as EngineResult,
    runMany,
  };
}

function headerValue(raw: unknown, name: string): string | null {
  if (!Array.isArray(raw)) return null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i];
    if (typeof key === 'string' && key.length === name.length && key.toLowerCase() === name) return String(raw[i + 1]);
  }
  return null;
}

/** One autocannon run on this process's event loop (the load process calls it). */
export async function runAutocannon(o: EngineRunOptions): Promise<EngineResult> {
  const counted = o.requestCount !== undefined;
  // With a rate, connections are paced (pacing.ts). Only if this autocannon cannot be paced do we
  // use its own limiter, which bursts each second's quota: then windows must be whole seconds to
  // hold whole bursts (any other window sees a share that depends on how fast the target is).
  const paced = Boolean(o.rateRps) && PACING_SUPPORTED;
  const whole = (s: number): number => (o.rateRps && !paced ? Math.ceil(s) : s);
  const warmupS = counted ? 0 : whole(o.warmupS);
  const durationS = whole(o.durationS);
  const recorder = new RunRecorder(warmupS * 1000, counted ? Number.POSITIVE_INFINITY : (warmupS + durationS) * 1000, o.onResponse);
  const length = cycleLength(o.requests);
  let clientSeed = 1;
  const t0 = performance.now();
  const phase = mulberry32(0x9ace);
  const connections = counted ? Math.max(1, Math.min(o.connections, o.requestCount ?? 1)) : o.connections;

  const setupClient = (client: Client): void => {
    const state: ClientState = { serverTiming: null };
    if (paced && o.rateRps) paceClient(client, o.rateRps / connections, phase);
    if (LAST_BYTE_SUPPORTED) timeToLastByte(client);
    // Each connection cycles through its own shuffle of the mix. The requests are built once here:
    // setting the next body from the response handler rebuilt the request (headers, buffer copy) on
    // every response, which was a third of the engine's CPU in the floor's profile.
    client.setRequests(mixCycle(o.requests, length, clientSeed++).map((body) => ({ method: 'POST', headers: REQUEST_HEADERS, body })));
    // autocannon's typings omit the client's parser events; they are part of its documented Client.
    const events = client as unknown as NodeJS.EventEmitter;
    events.on('headers', (info: { headers?: unknown }) => {
      state.serverTiming = headerValue(info.headers, 'server-timing');
    });
    events.on('response', (status: number, _bytes: number, durationMs: number) => {
      const nowMs = performance.now() - t0;
      recorder.record(nowMs - durationMs, durationMs * 1000, status, state.serverTiming);
      state.serverTiming = null;
    });
    events.on('timeout', () => recorder.record(performance.now() - t0 - TIMEOUT_S * 1000, TIMEOUT_S * 1e6, 'timeout'));
    events.on('connError', () => recorder.record(performance.now() - t0, 0, 'connection'));
  };

  const instance = (autocannon as unknown as (opts: autocannon.Options) => Promise<autocannon.Result> & { stop(): void })({
    url: o.url,
    method: 'POST',
    headers: REQUEST_HEADERS,
    body: o.requests[0]?.body ?? '{}',
    // autocannon refuses more connections than requests for a fixed count.
    connections,
    pipelining: 1,
    timeout: TIMEOUT_S,
    // autocannon only notices the end of a run on this tick; its own per-interval sampling is unused.
    sampleInt: 100,
    ...(counted ? { amount: o.requestCount } : { duration: warmupS + durationS }),
    // Its CO "correction" with a rate invents samples; we record raw response times ourselves.
    // (autocannon refuses the flag without a rate, where it corrects nothing anyway.)
    ...(o.rateRps && !paced ? { overallRate: o.rateRps, ignoreCoordinatedOmission: true } : {}),
    setupClient,
  });
  const onAbort = (): void => instance.stop();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await instance;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  if (o.signal?.aborted) throw o.signal.reason ?? new Error('run aborted');

  return recorder.result({ model: 'closed', plannedS: counted ? null : durationS, warmupS });
}
