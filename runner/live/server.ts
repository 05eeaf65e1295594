import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chartJsSource } from '../../reports/html/page.js';
import { LIVE_CSP, LIVE_CSS, LIVE_HTML, LIVE_SCRIPT } from './page.js';
import type { LiveSeries } from './series.js';
import { createSnapshotter, type LiveSnapshot } from './snapshot.js';

/** The runner's live endpoint: `/metrics` for Prometheus and the live page with its SSE stream. */
export interface LiveServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Port of the `/metrics`-only listener on `metricsHost`, when one was asked for. */
  readonly metricsPort?: number;
  close(): Promise<void>;
}

export interface LiveServerOptions {
  live: LiveSeries;
  /** Port on 127.0.0.1; 0 (default) lets the OS choose. */
  port?: number;
  /** Interval of the SSE messages, ms. Default 1000. */
  intervalMs?: number;
  /**
   * Also serve `/metrics` (and nothing else) on this address, port chosen by the OS: the kube
   * platform's in-cluster Prometheus scrapes the runner at the node address.
   */
  metricsHost?: string;
}

const SECURITY_HEADERS = {
  'content-security-policy': LIVE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * Serves, on 127.0.0.1 only: `/` the live page, `/live.js`, `/live.css`, `/chart.js` (Chart.js from
 * node_modules, as the report inlines it), `/events` (SSE, one {@link LiveSnapshot} per interval to every
 * client, computed once per tick) and `/metrics` (the live series in the Prometheus text format).
 */
export async function startLiveServer(o: LiveServerOptions): Promise<LiveServer> {
  const snapshot = createSnapshotter(o.live);
  const clients = new Set<ServerResponse>();
  let last: LiveSnapshot = snapshot();
  const tick = setInterval(() => {
    last = snapshot();
    const frame = `data: ${JSON.stringify(last)}\n\n`;
    for (const c of clients) c.write(frame);
  }, o.intervalMs ?? 1000);
  tick.unref();

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'GET only\n');
    switch (path) {
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', LIVE_HTML);
      case '/live.js':
        return send(res, 200, 'text/javascript; charset=utf-8', LIVE_SCRIPT);
      case '/live.css':
        return send(res, 200, 'text/css; charset=utf-8', LIVE_CSS);
      case '/chart.js':
        return send(res, 200, 'text/javascript; charset=utf-8', chartJsSource());
      case '/metrics':
        return send(res, 200, o.live.registry.contentType, await o.live.registry.metrics());
      case '/events':
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
        // The last snapshot at once, so a page opened between ticks is not blank.
        res.write(`retry: 1000\ndata: ${JSON.stringify(last)}\n\n`);
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      case '/favicon.ico':
        res.writeHead(204, SECURITY_HEADERS).end();
        return;
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found: the live page is at /, its series at /metrics\n');
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `live endpoint failed: ${(err as Error).message}\n`);
      else res.end();
    });
  });
  // Long-lived SSE responses must not keep `close()` waiting; keep-alive sockets neither.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: o.port ?? 0, host: '127.0.0.1', exclusive: true }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let metricsServer: ReturnType<typeof createServer> | undefined;
  const closeAll = async () => {
    clearInterval(tick);
    for (const c of clients) c.end();
    clients.clear();
    for (const s of [server, metricsServer]) {
      if (!s?.listening) continue;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  };
  if (o.metricsHost) {
    metricsServer = createServer((req, res) => {
      if ((req.url ?? '/').split('?')[0] !== '/metrics') return send(res, 404, 'text/plain; charset=utf-8', 'only /metrics here\n');
      o.live.registry.metrics().then(
        (text) => send(res, 200, o.live.registry.contentType, text),
        (err: unknown) => send(res, 500, 'text/plain; charset=utf-8', `live endpoint failed: ${(err as Error).message}\n`),
      );
    });
    metricsServer.keepAliveTimeout = 5000;
    try {
      await new Promise<void>((resolve, reject) => {
        metricsServer!.once('error', reject);
        metricsServer!.listen({ port: 0, host: o.metricsHost, exclusive: true }, () => resolve());
      });
    } catch (err) {
      await closeAll();
      throw err;
    }
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    ...(metricsServer ? { metricsPort: (metricsServer.address() as AddressInfo).port } : {}),
    close: closeAll,
  };
}
