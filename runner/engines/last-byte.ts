import { createRequire } from 'node:module';

/** The parts of autocannon's Client (autocannon 7–9) that time-to-last-byte hooks into. */
interface HookableClient {
  _connect: () => void;
  conn: NodeJS.EventEmitter;
  pipelinedRequests: { terminateRequest: () => { startTime: [number, number]; duration: number } | undefined };
}

/**
 * Whether this autocannon has the hooks {@link timeToLastByte} needs. When it does not (another major
 * version), response times stay autocannon's own: to the end of its parse.
 */
export const LAST_BYTE_SUPPORTED: boolean = (() => {
  try {
    const req = createRequire(import.meta.url);
    const Client = req('autocannon/lib/httpClient.js') as { prototype?: { _connect?: unknown } };
    const Queue = req('autocannon/lib/pipelinedRequestsQueue.js') as { prototype?: { terminateRequest?: unknown } };
    return typeof Client.prototype?._connect === 'function' && typeof Queue.prototype?.terminateRequest === 'function';
  } catch {
    return false;
  }
})();

/**
 * Makes one autocannon connection time each response to its last byte, as k6 and wrk do: from the
 * request's send to the moment the chunk that completes the response was read off the socket.
 * autocannon stops the clock when its JavaScript HTTP parser (http-parser-js) has finished the response
 * and its header listeners have run — the client's own work after the answer is in — which at a floor's
 * 100 req/s, with the process idle between requests, added 30–40 µs to every response (2026-12-05).
 *
 * What the client's event loop delays is still counted: the chunk's time is taken when its `data`
 * listener runs, not when the kernel received it. Call from autocannon's `setupClient` (the Client's
 * constructor calls `_connect` after it, and again on every reconnect).
 */
export function timeToLastByte(client: unknown): void {
  const c = client as HookableClient;
  let lastChunk: [number, number] = [0, 0];
  const connect = c._connect.bind(c);
  c._connect = () => {
    connect();
    c.conn.prependListener('data', () => {
      lastChunk = process.hrtime();
    });
  };
  const queue = c.pipelinedRequests;
  const terminate = queue.terminateRequest.bind(queue);
  queue.terminateRequest = () => {
    const done = terminate();
    if (done) {
      const [s, ns] = done.startTime;
      done.duration = (lastChunk[0] - s) * 1e3 + (lastChunk[1] - ns) / 1e6;
    }
    return done;
  };
}
