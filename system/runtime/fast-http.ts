/**
 * The pieces a component's hot route needs to run on plain node:http beside fastify (docs/ARCHITECTURE.md,
 * "The data path on plain node:http"): the server factory that offers each request to the fast path
 * first and hands everything it declines to fastify unread, the checks that decide whether a body is
 * plain enough to take, whole-body reading, and a reply that writes once. Used by the sidecar's data
 * path (`system/sidecar/http/fast-path.ts`) and the IdP's token endpoint (`system/idp/routes/token-exchange.ts`).
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerOptions, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

/** What a route does with its reply (a subset of FastifyReply, which satisfies it). */
export interface RouteReply {
  header(name: string, value: string | string[]): RouteReply;
  hasHeader(name: string): boolean;
  code(status: number): RouteReply;
  type(contentType: string): RouteReply;
  send(payload?: unknown): RouteReply;
}

/** Takes a request and answers it (true), or declines it untouched (false) for fastify to serve. */
export type FastTake = (req: IncomingMessage, res: ServerResponse) => boolean;

/** fastify's server options the factory applies (fastify applies them only to a server it made itself). */
interface FactoryOptions {
  http?: ServerOptions;
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number | null;
}

/**
 * A fastify `serverFactory`: a node:http server whose requests go to `take` first and to fastify's
 * handler when it declines. fastify leaves a factory's server as it comes, so this sets the timeouts
 * from fastify's (defaulted) options as fastify sets them on its own server: keep-alive 72 s unless
 * configured (Node's own 5 s would close a client's pooled connection between two slow calls).
 */
export function fastServerFactory(take: FastTake) {
  return (handler: RequestListener, opts: FactoryOptions) => {
    const server = createServer(opts.http ?? {}, (req, res) => take(req, res) || handler(req, res));
    server.keepAliveTimeout = opts.keepAliveTimeout ?? 72_000;
    server.requestTimeout = opts.requestTimeout ?? 0;
    server.setTimeout(opts.connectionTimeout ?? 0);
    if (opts.maxRequestsPerSocket) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
    return server;
  };
}

/**
 * True when the request's body can be read whole by the fast path: a Content-Length within `limit`
 * and no Transfer-Encoding. Anything else (chunked, oversized, no length) is fastify's to refuse.
 */
export function plainBody(req: IncomingMessage, limit: number): boolean {
  const lengthHeader = req.headers['content-length'];
  if (lengthHeader === undefined || req.headers['transfer-encoding'] !== undefined) return false;
  const length = Number(lengthHeader);
  return Number.isInteger(length) && length <= limit;
}

/** Reads the body whole as UTF-8, then calls `done`. A client gone mid-body gets nothing ('end' never comes). */
export function readBody(req: IncomingMessage, done: (text: string) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('error', () => {}); // no unhandled 'error' when the client goes away
  req.on('end', () => done(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
}

/**
 * The fast path's reply: headers collected, then one `writeHead` + `end` with Content-Length — what
 * fastify does for these routes, without its hooks, serializer lookup and reply object per request.
 * Object payloads are JSON with `application/json; charset=utf-8`, as fastify sends them. With `t0`
 * (a `performance.now()`), a reply that set no Server-Timing gets `total;dur=…` as the sidecar's
 * fastify hook adds it.
 */
export class FastReply implements RouteReply {
  sent = false;
  private status = 200;
  private readonly headers: Record<string, string | string[]> = {};
  constructor(
    private readonly res: ServerResponse,
    private readonly t0?: number,
  ) {}
  header(name: string, value: string | string[]) {
    this.headers[name.toLowerCase()] = value;
    return this;
  }
  hasHeader(name: string) {
    return name.toLowerCase() in this.headers;
  }
  code(status: number) {
    this.status = status;
    return this;
  }
  type(contentType: string) {
    this.headers['content-type'] = contentType;
    return this;
  }
  send(payload?: unknown) {
    if (this.sent) return this;
    this.sent = true;
    let body: Buffer | string;
    if (Buffer.isBuffer(payload) || typeof payload === 'string') {
      body = payload;
      this.headers['content-type'] ??= typeof payload === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
    } else {
      body = JSON.stringify(payload) ?? '';
      const t = this.headers['content-type'];
      if (t === undefined || t === 'application/json') this.headers['content-type'] = 'application/json; charset=utf-8';
    }
    this.headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
    if (this.t0 !== undefined && this.headers['server-timing'] === undefined)
      this.headers['server-timing'] = `total;dur=${(performance.now() - this.t0).toFixed(3)}`;
    this.res.writeHead(this.status, this.headers);
    this.res.end(body);
    return this;
  }
}
