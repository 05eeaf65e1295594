import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthlabError } from '../../protocol/errors.js';
import type { IdpContext } from '../context.js';
import { storeChanges } from '../store/changes.js';
import type { StreamHub } from '../routes/settings-stream.js';
import {
  parseAuditQuery,
  parseGrant,
  parseGrantKey,
  parseGroup,
  parseGroupKey,
  parseRefresh,
  parseRevocation,
  parseSettingsPatch,
  parseStatusQuery,
  parseRetire,
} from './validate.js';

export interface AdminRouteOptions {
  ctx: IdpContext;
  adminToken: string;
  streams: StreamHub;
  /** Rotates the signing keys (shared with the rotation timer). */
  rotateKeys(who: string): Promise<{ revision: number; result: unknown }>;
  /** Stops publishing a previous key now (checked against the tokens the IdP knows are held). */
  retireKey(kid: string, who: string): Promise<{ revision: number; result: unknown }>;
  /** Who the audit log names for this request, when not the default `admin` (the admin UI's gateway). */
  actorOf?(req: FastifyRequest): string | undefined;
}

/** Who the audit log names for admin API changes (there is one admin credential). */
const WHO = 'admin';

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * The admin API (docs/DESIGN.md §2): JSON in and out, only with `Authorization: Bearer <admin token>`.
 * Authentication runs in `onRequest`, before the body is even parsed, so an unauthenticated call
 * touches nothing. Every mutating call answers with the new `revision`.
 */
export async function adminRoutes(app: FastifyInstance, opts: AdminRouteOptions): Promise<void> {
  const { ctx } = opts;
  // Compare hashes: equal length whatever the input, so timingSafeEqual never throws and length leaks nothing.
  const expected = sha256(opts.adminToken);
  const adminChanges = storeChanges(ctx.store, WHO);
  const whoOf = (req: FastifyRequest) => opts.actorOf?.(req) ?? WHO;
  const changesOf = (req: FastifyRequest) => {
    const who = whoOf(req);
    return who === WHO ? adminChanges : storeChanges(ctx.store, who);
  };

  app.addHook('onRequest', async (req, reply) => {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m || !timingSafeEqual(sha256(m[1]!.trim()), expected)) {
      reply.header('www-authenticate', 'Bearer realm="authlab-admin"');
      return sendError(
        reply,
        new AuthlabError(
          'ERR_ADMIN_UNAUTHORIZED',
          'admin API needs Authorization: Bearer <admin token> (see runs/up/endpoints.json "admin.token")',
        ),
      );
    }
    return undefined;
  });

  // JSON only: a body in another content type is a clear 400, not fastify's 415.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => {
    done(new AuthlabError('ERR_BAD_REQUEST', 'send the body as application/json'));
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof AuthlabError) return sendError(reply, err);
    // PostgreSQL's own text (addresses, table names, values) goes to the IdP's log, not to a client.
    if (isDatabaseUnavailable(err)) {
      process.stderr.write(`idp: admin change failed, database unavailable: ${err.message}\n`);
      return sendError(
        reply,
        new AuthlabError(
          'ERR_DB_UNAVAILABLE',
          "the permissions store (PostgreSQL) is unavailable; nothing was changed, retry later (the IdP's log has the cause)",
          { cause: err },
        ),
      );
    }
    if ((err.statusCode ?? 500) < 500) {
      const message =
        err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
          ? 'body is empty but content-type is application/json: send {} or omit the content-type'
          : `malformed request: ${err.message}`;
      return sendError(reply, new AuthlabError('ERR_BAD_REQUEST', message));
    }
    process.stderr.write(`idp: admin request failed: ${err.stack ?? err.message}\n`);
    return sendError(reply, new AuthlabError('ERR_INTERNAL', 'internal error in the IdP; its log has the cause', { cause: err }));
  });

  const nowSeconds = () => Math.floor(ctx.now() / 1000);

  app.get('/admin/grants', async () => ({ revision: ctx.store.state.revision, grants: ctx.store.state.grants }));
  app.put('/admin/grants', async (req) => {
    const { revision, result } = await changesOf(req).putGrant(parseGrant(req.body));
    return { revision, grant: result };
  });
  app.delete('/admin/grants', async (req) => {
    const key = parseGrantKey(req.body);
    const { revision, result } = await changesOf(req).deleteGrant(key.caller, key.target);
    return { revision, deleted: result };
  });

  app.get('/admin/groups', async () => ({ revision: ctx.store.state.revision, groups: ctx.store.state.groups }));
  app.put('/admin/groups', async (req) => {
    const { revision, result } = await changesOf(req).putGroup(parseGroup(req.body));
    return { revision, group: result };
  });
  app.delete('/admin/groups', async (req) => {
    const { revision, result } = await changesOf(req).deleteGroup(parseGroupKey(req.body));
    return { revision, deleted: result.group, deletedGrants: result.removedGrants };
  });

  app.get('/admin/settings', async () => ({ revision: ctx.store.state.revision, ...ctx.store.state.settings }));
  app.put('/admin/settings', async (req) => {
    const { revision, result } = await changesOf(req).updateSettings(parseSettingsPatch(req.body));
    return { revision, ...result };
  });

  app.post('/admin/refresh-tokens', async (req) => {
    const { service } = parseRefresh(req.body);
    const { revision, result } = await changesOf(req).refreshTokens(service);
    return { revision, ...result };
  });

  app.post('/admin/revocations', async (req) => {
    const now = nowSeconds();
    const r = parseRevocation(req.body, now);
    // The IdP keeps no per-token record, so a jti is kept for the longest lifetime a token may have.
    const horizon = now + ctx.maxTokenTtlSeconds();
    if ('jti' in r) {
      const { revision, result } = await changesOf(req).revokeJti(r.jti, horizon, now);
      return { revision, revoked: result };
    }
    const expiresAt = Math.max(r.issuedBefore, now) + ctx.maxTokenTtlSeconds();
    const { revision, result } = await changesOf(req).revokeSubject(r.subject, r.issuedBefore, expiresAt, now);
    return { revision, revoked: result };
  });

  app.post('/admin/keys/rotate', async (req) => {
    const { revision, result } = await opts.rotateKeys(whoOf(req));
    return { revision, keys: result };
  });

  app.post('/admin/keys/retire', async (req) => {
    const { kid } = parseRetire(req.body);
    const { revision, result } = await opts.retireKey(kid, whoOf(req));
    return { revision, keys: result };
  });

  app.get('/admin/status', async (req) => {
    const q = parseStatusQuery(req.query);
    const s = ctx.store.state;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      revision: s.revision,
      refreshEpoch: s.refreshEpoch,
      connectedSidecars: opts.streams.connected(),
      keys: { previous: ctx.keys.previousKids, current: ctx.keys.currentKid, next: ctx.keys.nextKid },
      // The IdP's clock, so a page can count down to expiresAt whatever its own clock says.
      now: iso(ctx.now()),
      tokenTtlSeconds: s.settings.global.tokenTtlSeconds,
      tokensTracked: ctx.tokens.size,
      tokens: ctx.tokens.newest(q.tokens).map((t) => ({
        subject: t.subject,
        service: t.service,
        issuedAt: iso(t.issuedAtMs),
        expiresAt: iso(t.expiresAtMs),
        jti: t.jti,
        kid: t.kid,
      })),
    };
  });

  app.get('/admin/audit', async (req) => {
    const { limit, before } = parseAuditQuery(req.query);
    // One more than asked says whether an older page exists without a COUNT.
    const rows = await ctx.store.audit(limit + 1, before);
    const entries = rows.slice(0, limit);
    return {
      revision: ctx.store.state.revision,
      entries,
      nextBefore: rows.length > limit ? entries.at(-1)!.id : null,
    };
  });
}

/** Connection-level failures (refused, reset, server shutting down): the change did not happen. */
function isDatabaseUnavailable(err: { code?: string }): boolean {
  const code = typeof err.code === 'string' ? err.code : '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code) ||
    /^(08|57P)/.test(code) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test((err as Error).message ?? '')
  );
}

function sendError(reply: FastifyReply, err: AuthlabError): FastifyReply {
  return reply.code(err.status).send(err.toBody());
}
