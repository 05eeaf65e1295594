import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, type AccessTokenClaims } from '../../protocol/claims.js';
import { AuthlabError, oauthBody, type OAuthCode } from '../../protocol/errors.js';
import type { Role } from '../../protocol/roles.js';
import type { IdpContext } from '../context.js';
import { FastReply, plainBody, readBody, type FastTake, type RouteReply } from '../../runtime/fast-http.js';
import type { TokenResult } from '../metrics.js';
import { SubjectTokenError } from '../subject-verifier.js';

/** Path of the token endpoint (named in discovery). */
export const TOKEN_PATH = '/oauth2/token';

/** Largest accepted request body, bytes (the SA token itself is limited to 8 KiB by the verifier). */
const BODY_LIMIT_BYTES = 64 * 1024;

/** The one content type the token endpoint's fast path takes (in any case, without parameters). */
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** Marks a body that arrived with a content type other than form encoding. */
const NOT_FORM = Symbol('not-form');

/** A refused exchange: its code gives the RFC 6749/8693 `error` and the status; `result` the metric label. */
class ExchangeError extends AuthlabError {
  declare readonly code: OAuthCode;
  constructor(
    code: OAuthCode,
    readonly result: TokenResult,
    message: string,
  ) {
    super(code, message);
    this.name = 'ExchangeError';
  }
}

export interface TokenResponse {
  access_token: string;
  issued_token_type: string;
  token_type: 'Bearer';
  /** Seconds. */
  expires_in: number;
}

/**
 * Strict `application/x-www-form-urlencoded` parsing: a broken percent-escape or invalid UTF-8 is a
 * malformed request (invalid_request), not a value to guess at. Repeated names become arrays.
 */
export function parseForm(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (body === '') return out;
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeFormComponent(eq < 0 ? pair : pair.slice(0, eq));
      value = eq < 0 ? '' : decodeFormComponent(pair.slice(eq + 1));
    } catch {
      throw Object.assign(new Error('body is not valid form encoding (bad percent-escape or UTF-8)'), { statusCode: 400 });
    }
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/**
 * One form-encoded name or value: `+` is a space, `%XX` an escape (strict: throws URIError on a broken
 * one). A JWT is plain base64url and dots, so the common value needs neither a copy nor a decode.
 */
function decodeFormComponent(s: string): string {
  const spaced = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  return spaced.includes('%') ? decodeURIComponent(spaced) : spaced;
}

/** One string parameter (RFC 6749 §3.2: parameters must not repeat). */
function single(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = body[name];
  if (v === undefined || v === '') {
    if (required) throw new ExchangeError('ERR_OAUTH_INVALID_REQUEST', 'invalid_request', `${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new ExchangeError('ERR_OAUTH_INVALID_REQUEST', 'invalid_request', `${name} must appear once`);
  return v;
}

/**
 * RFC 8693 token exchange: a service-account JWT in, an ES256 access token out. Registered as an
 * encapsulated plugin so its own body parsers and error handler turn every bad request into an RFC
 * error: 400, or 413 for a body over 64 KiB (still `invalid_request`), never a 415 or 500.
 */
export async function tokenExchangeRoutes(app: FastifyInstance, opts: { ctx: IdpContext }): Promise<void> {
  const { ctx } = opts;
  app.removeAllContentTypeParsers();
  // Own parser rather than @fastify/formbody's lenient fast-querystring: malformed bodies must be refused.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (err) {
      done(err as Error);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_req, _body, done) => done(null, NOT_FORM));

  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => refuse(ctx, reply, err));
  app.post(TOKEN_PATH, { bodyLimit: BODY_LIMIT_BYTES }, (req, reply) => answer(ctx, req.body, reply));
}

/**
 * The token endpoint on plain node:http (`system/runtime/fast-http.ts`; registered by app.ts): takes a
 * `POST /oauth2/token` with exactly `Content-Type: application/x-www-form-urlencoded`, a Content-Length
 * within the body limit and no Transfer-Encoding — what every authlab client sends — and answers it with
 * the same parser and handler as the fastify route above, without fastify's request and reply objects,
 * hooks and serializer per exchange. Everything else (other content types or methods, a query string,
 * chunked or oversized bodies) is declined untouched, so fastify keeps refusing it as before.
 */
export function tokenFastPath(ctx: IdpContext): FastTake {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== TOKEN_PATH) return false;
    const type = req.headers['content-type'];
    if (type === undefined || type.length !== FORM_TYPE.length || type.toLowerCase() !== FORM_TYPE) return false;
    if (!plainBody(req, BODY_LIMIT_BYTES)) return false;
    readBody(req, (text) => {
      const reply = new FastReply(res);
      let form: Record<string, string | string[]>;
      try {
        form = parseForm(text);
      } catch (err) {
        refuse(ctx, reply, err as { statusCode?: number; message?: string });
        return;
      }
      answer(ctx, form, reply).then(
        (token) => {
          if (token !== reply) reply.send(token);
        },
        (err: unknown) => {
          if (!reply.sent) refuse(ctx, reply, { statusCode: 500, message: (err as Error)?.message });
        },
      );
    });
    return true;
  };
}

/** One exchange, answered: the token (for the caller to send) or the RFC error already sent; counted either way. */
async function answer(ctx: IdpContext, body: unknown, reply: RouteReply): Promise<TokenResponse | RouteReply> {
  const { metrics } = ctx;
  const t0 = performance.now();
  metrics.inflight.inc();
  let result: TokenResult = 'issued';
  try {
    const token = await exchange(ctx, body);
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return token;
  } catch (err) {
    const e = toExchangeError(err);
    result = e.result;
    return sendError(reply, e);
  } finally {
    metrics.inflight.dec();
    metrics.exchanged(result, (performance.now() - t0) / 1000);
  }
}

/** A request refused before the exchange (a body that is not a form, too large, ...): an RFC error, counted. */
function refuse(ctx: IdpContext, reply: RouteReply, err: { statusCode?: number; message?: string }): RouteReply {
  const status = err.statusCode ?? 500;
  if (status >= 500) {
    ctx.metrics.tokenResult.inc({ result: 'server_error' });
    return sendError(reply, new ExchangeError('ERR_OAUTH_SERVER_ERROR', 'server_error', 'internal error; retry later'));
  }
  ctx.metrics.tokenResult.inc({ result: 'invalid_request' });
  if (status === 413) {
    // HTTP says what is wrong (413), the body stays an RFC 6749 error so OAuth clients can read it.
    const why = `request body is larger than ${BODY_LIMIT_BYTES} bytes; a token request is a few KiB`;
    return sendError(reply, new ExchangeError('ERR_OAUTH_BODY_TOO_LARGE', 'invalid_request', why));
  }
  return sendError(reply, new ExchangeError('ERR_OAUTH_INVALID_REQUEST', 'invalid_request', `malformed request: ${err.message}`));
}

function toExchangeError(err: unknown): ExchangeError {
  if (err instanceof ExchangeError) return err;
  if (err instanceof SubjectTokenError) {
    if (err.oauthError === 'temporarily_unavailable') {
      return new ExchangeError('ERR_OAUTH_TEMPORARILY_UNAVAILABLE', 'unavailable', err.message);
    }
    return new ExchangeError(err.code, err.oauthError === 'invalid_request' ? 'invalid_request' : 'invalid_subject', err.message);
  }
  return new ExchangeError('ERR_OAUTH_SERVER_ERROR', 'server_error', `internal error: ${(err as Error)?.message ?? String(err)}`);
}

function sendError(reply: RouteReply, e: ExchangeError): RouteReply {
  const body = oauthBody(e.code, e.message);
  reply.code(e.status).header('cache-control', 'no-store');
  if (e.status === 503) reply.header('retry-after', '1');
  return reply.send(body);
}

async function exchange(ctx: IdpContext, body: unknown): Promise<TokenResponse> {
  if (body === NOT_FORM) {
    throw new ExchangeError(
      'ERR_OAUTH_INVALID_REQUEST',
      'invalid_request',
      'send the request as application/x-www-form-urlencoded (RFC 8693 §2.1)',
    );
  }
  if (typeof body !== 'object' || body === null) {
    throw new ExchangeError(
      'ERR_OAUTH_INVALID_REQUEST',
      'invalid_request',
      'request body is empty: send grant_type, subject_token and subject_token_type, form-encoded',
    );
  }
  const form = body as Record<string, unknown>;
  const grantType = single(form, 'grant_type', true);
  if (grantType !== TOKEN_EXCHANGE_GRANT) {
    throw new ExchangeError(
      'ERR_OAUTH_UNSUPPORTED_GRANT_TYPE',
      'unsupported_grant_type',
      `grant_type ${JSON.stringify(grantType)} is not supported; use ${TOKEN_EXCHANGE_GRANT}`,
    );
  }
  const subjectToken = single(form, 'subject_token', true)!;
  const subjectTokenType = single(form, 'subject_token_type', true);
  if (subjectTokenType !== JWT_TOKEN_TYPE) {
    throw new ExchangeError(
      'ERR_OAUTH_INVALID_REQUEST',
      'invalid_request',
      `subject_token_type must be ${JWT_TOKEN_TYPE} (a service-account JWT)`,
    );
  }
  const requested = single(form, 'requested_token_type', false);
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE && requested !== JWT_TOKEN_TYPE) {
    throw new ExchangeError(
      'ERR_OAUTH_INVALID_REQUEST',
      'invalid_request',
      `requested_token_type must be ${ACCESS_TOKEN_TYPE} or ${JWT_TOKEN_TYPE}`,
    );
  }
  const rawAudience = form.audience;
  const audiences = rawAudience === undefined ? [] : Array.isArray(rawAudience) ? rawAudience : [rawAudience];
  for (const a of audiences) {
    if (typeof a !== 'string' || a === '')
      throw new ExchangeError('ERR_OAUTH_INVALID_REQUEST', 'invalid_request', 'audience must be a non-empty service name');
  }

  const subject = await ctx.verifier.verify(subjectToken);
  const state = ctx.store.state;
  const granted = state.rolesByCaller.get(subject.service) ?? {};
  const roles: Record<string, Role[]> = {};
  if (audiences.length === 0) {
    Object.assign(roles, granted);
  } else {
    for (const a of audiences as string[]) {
      const r = granted[a];
      if (!r) {
        throw new ExchangeError(
          'ERR_OAUTH_INVALID_TARGET',
          'invalid_target',
          `${subject.service} has no role on ${JSON.stringify(a)}; grant one with PUT /admin/grants or drop that audience`,
        );
      }
      roles[a] = r;
    }
  }
  const ttl = state.settings.global.tokenTtlSeconds;
  const nowMs = ctx.now();
  const iat = Math.floor(nowMs / 1000);
  const claims: AccessTokenClaims = {
    iss: ctx.issuer(),
    sub: subject.service,
    aud: Object.keys(roles),
    iat,
    exp: iat + ttl,
    jti: randomUUID(),
    roles,
    rev: state.revision,
  };
  const accessToken = ctx.keys.sign(claims);
  ctx.tokens.record({
    subject: subject.subject,
    service: subject.service,
    issuedAtMs: nowMs,
    expiresAtMs: claims.exp * 1000,
    jti: claims.jti,
    kid: ctx.keys.currentKid,
  });
  return {
    access_token: accessToken,
    issued_token_type: requested ?? ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: ttl,
  };
}
