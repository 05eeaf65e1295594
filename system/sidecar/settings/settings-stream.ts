import { request, type Dispatcher } from 'undici';
import type { SettingsSnapshot } from '../../protocol/settings.js';
import { systemClock, type Clock } from '../token/token-source.js';
import { createSseParser } from './sse-parser.js';

export interface SettingsStreamOptions {
  /** Absolute URL of the IdP's settings stream. */
  url: string;
  /** The sidecar's own SA token, read afresh on every (re)connect. */
  getSaToken: () => Promise<string>;
  /** Called per snapshot; `firstAfterConnect` is true for the first one of each connection. */
  onSnapshot: (snapshot: SettingsSnapshot, firstAfterConnect: boolean) => void;
  onConnectionChange?: (connected: boolean, error?: Error) => void;
  dispatcher?: Dispatcher;
  clock?: Clock;
  random?: () => number;
  /** Reconnect backoff base and cap, ms (full jitter). Default 500 ms .. 15 s. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** No byte for this long (the IdP pings every 15 s) means the stream is dead, ms. Default 45 s. */
  idleTimeoutMs?: number;
}

export interface SettingsStream {
  start(): void;
  stop(): Promise<void>;
  connected(): boolean;
}

/**
 * Holds one long-lived SSE connection to the IdP. A lost stream leaves the last applied settings
 * in place (the caller keeps them) and reconnects with exponential backoff and full jitter.
 */
export function createSettingsStream(options: SettingsStreamOptions): SettingsStream {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const base = options.backoffBaseMs ?? 500;
  const cap = options.backoffCapMs ?? 15_000;
  let stopped = true;
  let isConnected = false;
  let attempt = 0;
  let timer: unknown = null;
  let abort: AbortController | null = null;
  let running: Promise<void> | null = null;

  const setConnected = (value: boolean, error?: Error) => {
    if (value === isConnected) return;
    isConnected = value;
    options.onConnectionChange?.(value, error);
  };

  async function connectOnce(): Promise<void> {
    abort = new AbortController();
    const saToken = await options.getSaToken();
    const res = await request(options.url, {
      method: 'GET',
      headers: { authorization: `Bearer ${saToken}`, accept: 'text/event-stream' },
      signal: abort.signal,
      bodyTimeout: options.idleTimeoutMs ?? 45_000,
      headersTimeout: 10_000,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      throw new Error(`settings stream answered ${res.statusCode}: ${text.slice(0, 200)}`);
    }
    const parse = createSseParser();
    let first = true;
    res.body.setEncoding('utf8');
    for await (const chunk of res.body) {
      for (const ev of parse(chunk as string)) {
        if (ev.event !== 'snapshot') continue;
        let snapshot: SettingsSnapshot;
        try {
          snapshot = JSON.parse(ev.data) as SettingsSnapshot;
        } catch {
          continue; // a corrupt event must not tear down a healthy stream
        }
        if (typeof snapshot?.revision !== 'number' || !snapshot.settings?.global) continue;
        // Only a real snapshot proves the stream works: reset the backoff then.
        attempt = 0;
        setConnected(true);
        options.onSnapshot(snapshot, first);
        first = false;
      }
    }
    throw new Error('settings stream ended');
  }

  function scheduleReconnect(): void {
    if (stopped) return;
    const delay = random() * Math.min(cap, base * 2 ** Math.min(attempt, 20));
    attempt++;
    timer = clock.setTimeout(() => {
      timer = null;
      loop();
    }, delay);
  }

  function loop(): void {
    if (stopped) return;
    running = connectOnce()
      .catch((err: Error) => {
        setConnected(false, err);
      })
      .finally(() => {
        running = null;
        scheduleReconnect();
      });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      attempt = 0;
      loop();
    },
    async stop() {
      stopped = true;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      abort?.abort();
      await running?.catch(() => {});
      setConnected(false);
    },
    connected: () => isConnected,
  };
}
