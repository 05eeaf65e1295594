import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import secureJson from 'secure-json-parse';
import { AuthlabError } from '../../protocol/errors.js';
import { FastReply, plainBody, readBody, type FastTake, type RouteReply } from '../../runtime/fast-http.js';
import { sendError } from './errors.js';

/** The body limit of every sidecar route (fastify's `bodyLimit` in app.ts is the same). */
export const BODY_LIMIT = 64 * 1024;

/** What a data-path route reads of its request: the same shape from fastify or from the fast path. */
export interface RouteRequest {
  body: unknown;
  headers: IncomingHttpHeaders;
  /** The connection (node:http's `req.socket`): a verified token is remembered per connection. */
  raw: { rawHeaders: string[]; socket?: object | null };
  params: { target?: string };
}

export type { RouteReply };

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
export function fastPath(routes: FastRoutes): FastTake {
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
    if (!plainJsonType(req.headers['content-type']) || !plainBody(req, BODY_LIMIT)) return false;

    const t0 = performance.now();
    readBody(req, (text) => {
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
