import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import secureJson from 'secure-json-parse';
import { AuthlabError } from '../../protocol/errors.js';
import { sendError } from './errors.js';

/** The body limit of every sidecar route (fastify's `bodyLimit` in app.ts is the same). */
export const BODY_LIMIT = 64 * 1024;

/** What a data-path route reads of its request: the same shape from fastify or from the fast path. */
export interface RouteRequest {
  body: unknown;
  headers: IncomingHttpHeaders;
  raw: { rawHeaders: string[] };
  params: { target?: string };
}

/** What a data-path route does with its reply (a subset of FastifyReply, which satisfies it). */
export interface RouteReply {
  header(name: string, value: string | string[]): RouteReply;
  hasHeader(name: string): boolean;
  code(status: number): RouteReply;
  type(contentType: string): RouteReply;
  send(payload?: unknown): RouteReply;
}

/** A data-path route: resolves to the JSON body to send, or to the reply it already sent. */
export type RouteHandler = (request: RouteRequest, reply: RouteReply) => Promise<unknown>;

const RAW_JSON = Symbol.for('authlab.raw-json');

/** The body's text as received, when it was parsed as JSON (fast path or fastify's parser in json-body.ts). */
export function rawJsonOf(request: object): string | undefined {
  return (request as { [RAW_JSON]?: string })[RAW_JSON];
}
export function keepRawJson(request: object, text: string): void {
  (request as { [RAW_JSON]?: string })[RAW_JSON] = text;
}

/**
 * The fast path's reply: headers collected, then one `writeHead` + `end` with Content-Length — what
 * fastify does for these routes, without its hooks, serializer lookup and reply object per request.
 * Object payloads are JSON with `application/json; charset=utf-8`, as fastify sends them.
 */
class FastReply implements RouteReply {
  sent = false;
  private status = 200;
  private readonly headers: Record<string, string | string[]> = {};
  constructor(
    private readonly res: ServerResponse,
    private readonly t0: number,
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
    if (this.headers['server-timing'] === undefined)
      this.headers['server-timing'] = `total;dur=${(performance.now() - this.t0).toFixed(3)}`;
    this.res.writeHead(this.status, this.headers);
    this.res.end(body);
    return this;
  }
}

/** `application/json`, optionally with a utf-8 charset: the only bodies the fast path takes. */
function plainJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType.length === 16) return contentType.toLowerCase() === 'application/json';
  const t = contentType.toLowerCase().replace(/\s+/g, '');
  return t === 'application/json;charset=utf-8' || t === 'application/json;charset="utf-8"';
}

const TARGET = /^\/call\/([A-Za-z0-9](?:[A-Za-z0-9-]{0,98}[A-Za-z0-9])?)\/query$/;

export interface FastRoutes {
  query: RouteHandler;
  call: RouteHandler;
  /** Where an unexpected error's details go (the client gets ERR_INTERNAL). */
  log: (msg: string) => void;
}

/**
 * The data path (`POST /query`, `POST /call/<target>/query`) on plain node:http: returns false for
 * any request it does not take, which then goes to fastify unchanged — so fastify keeps answering
 * everything unusual (other methods, percent-escapes, long names, other content types, chunked or
 * oversized bodies, …) with the same codes as before, and the fast path needs only the plain case.
 * Within it, errors map as app.ts maps fastify's: empty or invalid JSON and `__proto__` /
 * `constructor` poisoning are ERR_BODY_NOT_JSON, an AuthlabError its own code, anything else ERR_INTERNAL.
 */
export function fastPath(routes: FastRoutes): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    let handler: RouteHandler;
    let target: string | undefined;
    if (url === '/query') {
      handler = routes.query;
    } else {
      const m = url.length <= 120 && url.startsWith('/call/') ? TARGET.exec(url) : null;
      if (m === null) return false;
      handler = routes.call;
      target = m[1];
    }
    if (!plainJsonType(req.headers['content-type'])) return false;
    const lengthHeader = req.headers['content-length'];
    if (lengthHeader === undefined || req.headers['transfer-encoding'] !== undefined) return false;
    const length = Number(lengthHeader);
    if (!Number.isInteger(length) || length > BODY_LIMIT) return false;

    const t0 = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    // A client gone mid-body: nothing to answer ('end' never comes), and no unhandled 'error'.
    req.on('error', () => {});
    req.on('end', () => {
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      const reply = new FastReply(res, t0);
      const request: RouteRequest = { body: undefined, headers: req.headers, raw: req, params: target === undefined ? {} : { target } };
      if (text.length === 0) {
        sendError(
          reply,
          'ERR_BODY_NOT_JSON',
          `The body is not valid JSON (Body cannot be empty when content-type is set to 'application/json'); send {"query": "light", "params": {}}.`,
        );
        return;
      }
      try {
        request.body = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
      } catch {
        sendError(
          reply,
          'ERR_BODY_NOT_JSON',
          `The body is not valid JSON (Body is not valid JSON but content-type is set to 'application/json'); send {"query": "light", "params": {}}.`,
        );
        return;
      }
      keepRawJson(request, text);
      handler(request, reply).then(
        (result) => {
          if (!reply.sent) reply.send(result);
        },
        (err: unknown) => {
          if (reply.sent) return;
          if (err instanceof AuthlabError) {
            sendError(reply, err.code, err.message);
          } else {
            routes.log(`unhandled error on ${url}: ${(err as Error)?.stack ?? String(err)}`);
            sendError(reply, 'ERR_INTERNAL', 'Internal error in the sidecar; see its log.');
          }
        },
      );
    });
    return true;
  };
}
