import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastTake } from '../../system/runtime/fast-http.js';

export interface Sent {
  status: number;
  headers: Record<string, unknown>;
  text: string;
}

/** A server running a fast path's `take`, answering 299 `fallback` for what it declines (fastify's handler in the app). */
export interface TakeServer {
  port: number;
  /** One request with exactly these headers (node:http, so Content-Length and Transfer-Encoding are as given). */
  send(method: string, path: string, body: string, headers: Record<string, string | number>): Promise<Sent>;
  close(): Promise<void>;
}

export async function startTakeServer(take: FastTake): Promise<TakeServer> {
  const server = createServer((req, res) => take(req, res) || res.writeHead(299, { 'content-type': 'text/plain' }).end('fallback'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    send: (method, path, body, headers) =>
      new Promise<Sent>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
