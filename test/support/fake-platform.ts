import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunMode } from '../../system/protocol/modes.js';
import type { Platform } from '../../runner/platforms/platform.js';

/** Response delay of the fake target per mode and query, ms. */
export type FakeDelays = (mode: RunMode, query: string) => number;

export interface FakePlatform extends Platform {
  /** Requests answered per pair and mode (to check who was driven). */
  readonly served: Map<string, number>;
  /** Every setPairMode call in order. */
  readonly modeLog: { pair: number; mode: RunMode }[];
}

/**
 * The stages a real sidecar chain reports in `mode` (the study checks them against the mode): direct
 * hits the target alone; the others go through the caller, which signs in observe/enforce, where the
 * target verifies (10 µs).
 */
function fakeServerTiming(mode: RunMode, ms: number): string {
  const db = `db;dur=${(ms * 0.8).toFixed(3)}`;
  if (mode === 'direct') return `${db}, total;dur=${ms.toFixed(3)}`;
  const auth = mode === 'observe' || mode === 'enforce';
  const peer = `${auth ? 'peer-verify;dur=0.010, ' : ''}peer-${db}, peer-total;dur=${(ms * 0.9).toFixed(3)}`;
  return `${auth ? 'sign;dur=0.005, ' : ''}upstream;dur=${(ms * 0.95).toFixed(3)}, total;dur=${ms.toFixed(3)}, ${peer}`;
}

/**
 * A stand-in for the local platform in tests: one plain HTTP server per pair on 127.0.0.1 that
 * answers `/<mode>/query` after a mode- and query-dependent delay, with a Server-Timing header.
 * It honours the mode: a request whose URL mode differs from the pair's current mode (set through
 * `setPairMode`) gets 409 — so a study that drives a pair before switching it shows up as errors.
 */
export async function startFakePlatform(pairs: number, delays: FakeDelays): Promise<FakePlatform> {
  const servers: Server[] = [];
  const urls: string[] = [];
  const modes = new Map<number, RunMode>();
  const served = new Map<string, number>();
  for (let pair = 1; pair <= pairs; pair++) {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const mode = (req.url ?? '').split('/')[1] as RunMode;
        if (modes.get(pair) !== mode) {
          res.writeHead(409, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'ERR_CONFLICT', message: `pair ${pair} is in ${modes.get(pair)}, not ${mode}` } }));
          return;
        }
        let query = 'light';
        try {
          query = (JSON.parse(body) as { query: string }).query;
        } catch {
          // keep the default
        }
        const ms = delays(mode, query);
        setTimeout(() => {
          const key = `${pair}/${mode}`;
          served.set(key, (served.get(key) ?? 0) + 1);
          res.writeHead(200, {
            'content-type': 'application/json',
            'server-timing': fakeServerTiming(mode, ms),
          });
          res.end('{"rows":[]}');
        }, ms);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  const modeLog: { pair: number; mode: RunMode }[] = [];
  return {
    name: 'local',
    served,
    modeLog,
    endpoints: { idp: { url: 'http://127.0.0.1:1' }, admin: { token: 'fake' }, postgres: { url: 'postgres://fake' }, services: [] },
    async setPairMode(pair, mode) {
      if (pair < 1 || pair > pairs) throw new Error(`no pair ${pair}`);
      modes.set(pair, mode);
      modeLog.push({ pair, mode });
    },
    targetUrl(pair, mode) {
      const base = urls[pair - 1];
      if (!base) throw new Error(`no pair ${pair}`);
      return `${base}/${mode}/query`;
    },
    async close() {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
