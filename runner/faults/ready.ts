import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';

/** How long a fault run waits for its pair to be ready before it gives up, ms. */
export const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 200;

export interface ReadyOptions {
  /** Sidecars that must answer `/readyz` 200 before the load starts: name → base URL. */
  sidecars: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits until every sidecar answers `GET /readyz` with 200 **on a new connection**, and returns how
 * long that took (ms). A fault run starts from a healthy pair: after the previous fault (the IdP
 * killed, say) a sidecar reconnects its settings stream with backoff and is unready until then, and
 * on a cluster an unready pod is out of its Service, so the fault run's fresh connections would be
 * refused and counted against the next fault. Connections kept alive from before still reach an
 * unready pod, which is why each probe opens its own.
 *
 * @throws Error naming the sidecar and its last answer when one is not ready within the timeout.
 */
export async function waitSidecarsReady(o: ReadyOptions): Promise<number> {
  const started = performance.now();
  const deadline = started + (o.timeoutMs ?? READY_TIMEOUT_MS);
  for (const [name, url] of Object.entries(o.sidecars)) {
    for (;;) {
      o.signal?.throwIfAborted();
      const last = await probe(url);
      if (last === null) break;
      if (performance.now() > deadline) {
        throw new Error(
          `${name} was not ready ${Math.round((performance.now() - started) / 1000)} s after the previous scenario (${last}); the fault run needs a healthy pair to start from`,
        );
      }
      await sleep(POLL_MS, undefined, o.signal ? { signal: o.signal } : {});
    }
  }
  return Math.round(performance.now() - started);
}

/** null when `/readyz` answered 200 on a new connection; otherwise what it answered instead. */
async function probe(url: string): Promise<string | null> {
  const client = new Client(new URL(url).origin, { connectTimeout: 2_000, headersTimeout: 2_000, bodyTimeout: 2_000 });
  try {
    const res = await client.request({ method: 'GET', path: '/readyz' });
    const text = await res.body.text();
    if (res.statusCode === 200) return null;
    let message = '';
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? '');
    } catch {
      // not JSON: the status says enough
    }
    return `/readyz ${res.statusCode}${message ? `: ${message}` : ''}`;
  } catch (err) {
    return `no connection: ${(err as { code?: string }).code ?? (err as Error).message}`;
  } finally {
    await client.close().catch(() => {});
  }
}
