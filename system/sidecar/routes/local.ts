import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SidecarContext } from '../context.js';
import { AuthlabError } from '../../protocol/errors.js';
import { sendError } from '../http/errors.js';

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** `/healthz`, `/readyz`, `/metrics` and the local admin endpoints `/local/status`, `/local/refresh-token`. */
export function registerLocalRoutes(app: FastifyInstance, ctx: SidecarContext): void {
  const expected = ctx.localAdminToken ? sha256(ctx.localAdminToken) : null;
  // Compare digests: equal length, constant time, and no early exit on the first differing byte.
  const authorized = (request: FastifyRequest): boolean => {
    if (!expected) return true;
    const h = request.headers.authorization ?? '';
    const given = h.toLowerCase().startsWith('bearer ') ? h.slice(7).trim() : '';
    return timingSafeEqual(sha256(given), expected);
  };

  /**
   * Ready = every capability is there: a token held, the database reachable, settings applied, and
   * the IdP stream up. Without the IdP the sidecar still serves (fail-static, with the held token
   * and the last settings), but it cannot refresh its token or learn of revocations and mode
   * changes, and readiness says so instead of staying 200.
   */
  async function readiness() {
    const token = ctx.link.tokenSource()?.current() ?? null;
    const settings = ctx.settings.current().revision >= 0;
    const database = await ctx.db.ping();
    const idp = ctx.link.streamConnected();
    const dp = ctx.dataPlane();
    // With a data plane, it must hold the settings and the token the sidecar holds.
    const dataPlane = dp ? dp.inSync() && dp.revision() === ctx.settings.current().revision : null;
    return {
      ready: token !== null && settings && database && idp && dataPlane !== false,
      checks: { token: token !== null, database, settings, idp, ...(dataPlane !== null ? { dataPlane } : {}) },
      tokenExpiresAt: token ? new Date(token.expiresAt).toISOString() : null,
    };
  }

  const CANNOT: Record<string, string> = {
    token: 'it holds no access token, so it cannot sign outbound calls',
    database: 'its database is unreachable, so it cannot run queries',
    settings: 'it has not received its settings from the IdP yet',
    idp: 'the IdP settings stream is down, so it cannot refresh its token or receive settings and revocations (serving fail-static with what it holds)',
    dataPlane:
      'its Go data plane is being restarted or does not hold its current token and settings yet, so outbound calls through it fail or may be signed with the previous ones',
  };

  app.get('/healthz', async () => ({ status: 'ok', service: ctx.service }));

  app.get('/readyz', async (_request, reply) => {
    const r = await readiness();
    if (r.ready) return r;
    const cannot = Object.entries(r.checks)
      .filter(([, ok]) => !ok)
      .map(([k]) => CANNOT[k])
      .join('; ');
    return reply.code(503).send({ ...r, message: `Not ready: ${cannot}.` });
  });

  app.get('/metrics', async (_request, reply) => {
    // The data plane's outbound counts join the sidecar's series (one scrape target, as Istio's agent merges Envoy's).
    await ctx
      .dataPlane()
      ?.readMetrics()
      .catch((err: unknown) => ctx.log(`could not read the data plane's metrics: ${err instanceof Error ? err.message : String(err)}`));
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });

  app.get('/local/status', async (request, reply) => {
    if (!authorized(request))
      return sendError(reply, 'ERR_ADMIN_UNAUTHORIZED', 'Send "Authorization: Bearer <localAdminToken>" from the sidecar config.');
    const s = ctx.settings.current();
    const token = ctx.link.tokenSource()?.current() ?? null;
    const r = await readiness();
    const dp = ctx.dataPlane();
    return {
      service: ctx.service,
      pair: ctx.pair,
      ready: r.ready,
      // The revision in force on every path: with a data plane, the older of its and the sidecar's.
      revision: dp ? Math.min(s.revision, dp.revision()) : s.revision,
      signMode: s.signMode,
      verifyMode: s.verifyMode,
      token: token ? { exp: Math.floor(token.expiresAt / 1000), iat: Math.floor(token.issuedAt / 1000) } : null,
      streamConnected: ctx.link.streamConnected(),
      dataPlane: dp
        ? { url: dp.url, pid: dp.pid ?? null, running: dp.running(), restarts: dp.restarts(), revision: dp.revision(), inSync: dp.inSync() }
        : null,
    };
  });

  app.post('/local/refresh-token', async (request, reply) => {
    if (!authorized(request))
      return sendError(reply, 'ERR_ADMIN_UNAUTHORIZED', 'Send "Authorization: Bearer <localAdminToken>" from the sidecar config.');
    const ts = ctx.link.tokenSource();
    if (!ts) return sendError(reply, 'ERR_IDP_UNREACHABLE', 'The sidecar has not reached the IdP yet; retry once /readyz is 200.');
    try {
      await ts.forceRefresh();
    } catch (err) {
      const e = err instanceof AuthlabError ? err : new AuthlabError('ERR_NO_TOKEN', String(err));
      return sendError(reply, e.code, e.message);
    }
    try {
      // Answer once outbound calls through the data plane carry the new token too.
      await ctx.dataPlane()?.sync();
    } catch (err) {
      return sendError(
        reply,
        'ERR_TOKEN_REFRESH_FAILED',
        `The sidecar holds a new token but could not hand it to its data plane (${err instanceof Error ? err.message : String(err)}); outbound calls through the data plane still carry the previous one. Retry the refresh.`,
      );
    }
    const token = ts.current();
    return { refreshed: true, token: token ? { exp: Math.floor(token.expiresAt / 1000), iat: Math.floor(token.issuedAt / 1000) } : null };
  });
}
