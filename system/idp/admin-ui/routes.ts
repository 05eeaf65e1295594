import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthlabError, type ErrorCode } from '../../protocol/errors.js';
import { buildAdminUiAssets, type AdminUiAssets } from './assets.js';
import { tokenResults } from './metrics-summary.js';
import { SessionStore, type Session, type SessionStoreOptions } from './session.js';

/** Where the page lives; its cookie is scoped to this path. */
export const ADMIN_UI_PATH = '/admin/ui';
const COOKIE = 'authlab_admin_ui';
const CSRF_HEADER = 'x-csrf-token';
/** Who the audit log names for changes made from the page. */
export const ADMIN_UI_ACTOR = 'admin-ui';

/**
 * Strict: only this origin's script, style and fetches; no inline code, no framing, no plugins, forms
 * post nowhere but here.
 */
export const ADMIN_UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0a58ca"/><path d="M5 7V5a3 3 0 0 1 6 0v2h1v7H4V7zm2 0h2V5a1 1 0 0 0-2 0z" fill="#fff"/></svg>';

/** Admin API calls the page may make through `/admin/ui/api/<path>` (method + path under /admin/). */
const PROXIED = new Set([
  'GET grants',
  'PUT grants',
  'DELETE grants',
  'GET groups',
  'PUT groups',
  'DELETE groups',
  'GET settings',
  'PUT settings',
  'POST refresh-tokens',
  'POST revocations',
  'POST keys/rotate',
  'GET status',
  'GET audit',
]);

export interface AdminUiOptions extends SessionStoreOptions {
  adminToken: string;
  /** Replaces the esbuild build (tests). */
  assets?: () => Promise<AdminUiAssets>;
}

export interface AdminUi {
  /** Registers the page, its session endpoints and its admin API gateway. */
  routes(app: FastifyInstance): Promise<void>;
  /** For the admin API: `admin-ui` when the call came through the page's gateway, else undefined. */
  actorOf(req: FastifyRequest): string | undefined;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function cookieOf(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

function fail(reply: FastifyReply, code: ErrorCode, message: string, status?: number): FastifyReply {
  const e = new AuthlabError(code, message);
  return reply.code(status ?? e.status).send(e.toBody());
}

/**
 * The admin web page (issue 16) at `/admin/ui`: sign in with the admin token, which is exchanged for
 * an HttpOnly, SameSite=Strict session cookie; every change then needs that cookie, the session's
 * CSRF token in `X-CSRF-Token` and (when the browser sends one) this server's own `Origin`.
 *
 * The page never talks to the admin API with the admin token itself: `/admin/ui/api/<path>` forwards
 * the allowed calls to the real `/admin/<path>` routes in-process (same validation, same transaction,
 * same errors), marked with a per-process key so the audit log names `admin-ui` as the actor.
 */
export function createAdminUi(opts: AdminUiOptions): AdminUi {
  const expected = sha256(opts.adminToken);
  const sessions = new SessionStore(opts);
  const viaHeaderValue = randomBytes(32).toString('hex');
  let assets: Promise<AdminUiAssets> | undefined;
  const loadAssets = () => {
    assets ??= (opts.assets ?? buildAdminUiAssets)().catch((err: unknown) => {
      assets = undefined;
      throw err;
    });
    return assets;
  };

  const cookie = (value: string, maxAgeSeconds: number) =>
    `${COOKIE}=${value}; Path=${ADMIN_UI_PATH}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;

  /** A change must come from this page: same origin (when the browser says), JSON, and the CSRF token. */
  function crossSite(req: FastifyRequest): string | undefined {
    const origin = req.headers.origin;
    const own = `${req.protocol}://${req.headers.host ?? ''}`;
    if (origin !== undefined && origin !== own) return `origin ${origin} is not ${own}`;
    if (req.headers['sec-fetch-site'] === 'cross-site') return 'cross-site request';
    return undefined;
  }

  function sessionOf(req: FastifyRequest): Session | undefined {
    return sessions.touch(cookieOf(req));
  }

  function csrfOk(req: FastifyRequest, s: Session): boolean {
    const sent = req.headers[CSRF_HEADER];
    return typeof sent === 'string' && timingSafeEqual(sha256(sent), sha256(s.csrf));
  }

  async function routes(app: FastifyInstance): Promise<void> {
    // JSON only: a cross-site HTML form can send only urlencoded, multipart or text/plain bodies.
    app.removeContentTypeParser('text/plain');
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => {
      done(new AuthlabError('ERR_UNSUPPORTED_MEDIA_TYPE', 'the admin UI accepts JSON bodies only (content-type: application/json)'));
    });
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      if (err instanceof AuthlabError) return reply.code(err.status).send(err.toBody());
      const status = err.statusCode ?? 500;
      return fail(
        reply,
        status < 500 ? 'ERR_BAD_REQUEST' : 'ERR_INTERNAL',
        status < 500 ? `malformed request: ${err.message}` : `internal error: ${err.message}`,
      );
    });
    app.addHook('onSend', async (req, reply, payload) => {
      reply.header('content-security-policy', ADMIN_UI_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cross-origin-opener-policy', 'same-origin');
      reply.header('cross-origin-resource-policy', 'same-origin');
      if (req.url.startsWith(`${ADMIN_UI_PATH}/api/`) || req.url.startsWith(`${ADMIN_UI_PATH}/session`)) {
        reply.header('cache-control', 'no-store');
      }
      return payload;
    });

    const page = async (_req: FastifyRequest, reply: FastifyReply) =>
      reply.type('text/html; charset=utf-8').send((await loadAssets()).html);
    app.get(ADMIN_UI_PATH, page);
    app.get(`${ADMIN_UI_PATH}/`, page);
    app.get(`${ADMIN_UI_PATH}/app.js`, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send((await loadAssets()).js));
    app.get(`${ADMIN_UI_PATH}/favicon.svg`, async (_req, reply) => reply.type('image/svg+xml').send(FAVICON));
    app.get(`${ADMIN_UI_PATH}/style.css`, async (_req, reply) => reply.type('text/css; charset=utf-8').send((await loadAssets()).css));

    // Sign in: {"token": "<admin token>"} → cookie + CSRF token. JSON only, so a cross-site form cannot post it.
    app.post(`${ADMIN_UI_PATH}/session`, async (req, reply) => {
      const why = crossSite(req);
      if (why) return fail(reply, 'ERR_FORBIDDEN', `sign-in refused: ${why}`);
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return fail(reply, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'sign in with a JSON body {"token": "<admin token>"}');
      }
      const token = (req.body as { token?: unknown } | null)?.token;
      if (typeof token !== 'string' || !timingSafeEqual(sha256(token.trim()), expected)) {
        return fail(
          reply,
          'ERR_ADMIN_UNAUTHORIZED',
          'wrong admin token (it is "admin.token" in runs/up/endpoints.json, or adminToken in the IdP config)',
        );
      }
      const s = sessions.create();
      reply.header('set-cookie', cookie(s.id, Math.ceil((s.expiresAt - s.createdAt) / 1000)));
      return { signedIn: true, csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString(), actor: ADMIN_UI_ACTOR };
    });

    // Who am I: lets a reloaded page pick up its CSRF token (readable by same-origin script only).
    // Signed out is a normal answer here (200), not an error the browser would log.
    app.get(`${ADMIN_UI_PATH}/session`, async (req) => {
      const s = sessionOf(req);
      if (!s) return { signedIn: false };
      return { signedIn: true, csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString(), actor: ADMIN_UI_ACTOR };
    });

    app.delete(`${ADMIN_UI_PATH}/session`, async (req, reply) => {
      const s = sessionOf(req);
      if (s && !csrfOk(req, s)) return fail(reply, 'ERR_FORBIDDEN', 'sign-out needs the X-CSRF-Token header of the session');
      sessions.delete(s?.id);
      reply.header('set-cookie', cookie('', 0));
      return reply.code(204).send();
    });

    // Served by the IdP itself, the page has no platform behind it; `authlab up`'s console answers this
    // path itself (per-sidecar metrics, studies). A 200 rather than a 404 keeps the browser console clean.
    app.get(`${ADMIN_UI_PATH}/platform`, async () => ({ available: false }));

    // Token exchanges by result, from the IdP's own /metrics.
    app.get(`${ADMIN_UI_PATH}/api/metrics`, async (req, reply) => {
      if (!sessionOf(req)) return fail(reply, 'ERR_ADMIN_UNAUTHORIZED', 'not signed in, or the session expired: sign in again');
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      return { tokenResults: tokenResults(res.body) };
    });

    app.route({
      method: ['GET', 'PUT', 'POST', 'DELETE'],
      url: `${ADMIN_UI_PATH}/api/*`,
      handler: async (req, reply) => {
        const s = sessionOf(req);
        if (!s) return fail(reply, 'ERR_ADMIN_UNAUTHORIZED', 'not signed in, or the session expired: sign in again');
        const [path = '', query = ''] = req.url.slice(`${ADMIN_UI_PATH}/api/`.length).split('?');
        if (!PROXIED.has(`${req.method} ${path}`)) return fail(reply, 'ERR_NOT_FOUND', `the admin UI does not offer ${req.method} ${path}`);
        if (req.method !== 'GET') {
          const why = crossSite(req);
          if (why) return fail(reply, 'ERR_FORBIDDEN', `change refused: ${why}`);
          if (!csrfOk(req, s)) return fail(reply, 'ERR_FORBIDDEN', 'change refused: missing or wrong X-CSRF-Token (reload the page)');
        }
        const hasBody = req.body !== undefined && req.body !== null;
        const res = await app.inject({
          method: req.method as 'GET' | 'PUT' | 'POST' | 'DELETE',
          url: `/admin/${path}${query ? `?${query}` : ''}`,
          headers: {
            authorization: `Bearer ${opts.adminToken}`,
            'x-authlab-via': viaHeaderValue,
            ...(hasBody ? { 'content-type': 'application/json' } : {}),
          },
          ...(hasBody ? { payload: JSON.stringify(req.body) } : {}),
        });
        return reply.code(res.statusCode).type('application/json; charset=utf-8').send(res.body);
      },
    });
  }

  return {
    routes,
    actorOf(req) {
      const v = req.headers['x-authlab-via'];
      return typeof v === 'string' && v.length === viaHeaderValue.length && timingSafeEqual(Buffer.from(v), Buffer.from(viaHeaderValue))
        ? ADMIN_UI_ACTOR
        : undefined;
    },
  };
}
