import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SidecarContext } from '../context.js';
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

  async function readiness() {
    const token = ctx.link.tokenSource()?.current() ?? null;
    const settings = ctx.settings.current().revision >= 0;
    const database = await ctx.db.ping();
    return { ready: token !== null && settings && database, checks: { token: token !== null, database, settings } };
  }

  app.get('/healthz', async () => ({ status: 'ok', service: ctx.service }));

  app.get('/readyz', async (_request, reply) => {
    const r = await readiness();
    if (r.ready) return r;
    const missing = Object.entries(r.checks)
      .filter(([, ok]) => !ok)
      .map(([k]) => k)
      .join(', ');
    return reply.code(503).send({ ...r, message: `Not ready: waiting for ${missing}.` });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });

  app.get('/local/status', async (request, reply) => {
    if (!authorized(request))
      return sendError(reply, 'ERR_ADMIN_UNAUTHORIZED', 'Send "Authorization: Bearer <localAdminToken>" from the sidecar config.');
    const s = ctx.settings.current();
    const token = ctx.link.tokenSource()?.current() ?? null;
    const r = await readiness();
    return {
      service: ctx.service,
      pair: ctx.pair,
      ready: r.ready,
      revision: s.revision,
      signMode: s.signMode,
      verifyMode: s.verifyMode,
      token: token ? { exp: Math.floor(token.expiresAt / 1000), iat: Math.floor(token.issuedAt / 1000) } : null,
      streamConnected: ctx.link.streamConnected(),
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
      return sendError(reply, 'ERR_NO_TOKEN', (err as Error).message);
    }
    const token = ts.current();
    return { refreshed: true, token: token ? { exp: Math.floor(token.expiresAt / 1000), iat: Math.floor(token.issuedAt / 1000) } : null };
  });
}
