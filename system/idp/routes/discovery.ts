import type { FastifyInstance } from 'fastify';
import { TOKEN_EXCHANGE_GRANT } from '../../protocol/claims.js';
import { SETTINGS_STREAM_PATH } from '../../protocol/endpoints.js';
import type { IdpContext } from '../context.js';

/** Path of the IdP's JWKS (named in discovery). */
export const JWKS_PATH = '/.well-known/jwks.json';

/** Discovery, JWKS and metrics: the unauthenticated read-only endpoints. */
export async function discoveryRoutes(app: FastifyInstance, opts: { ctx: IdpContext }): Promise<void> {
  const { ctx } = opts;
  app.get('/.well-known/openid-configuration', async () => {
    const base = ctx.issuer().replace(/\/$/, '');
    return {
      issuer: ctx.issuer(),
      token_endpoint: ctx.tokenEndpoint(),
      jwks_uri: `${base}${JWKS_PATH}`,
      grant_types_supported: [TOKEN_EXCHANGE_GRANT],
      token_endpoint_auth_methods_supported: ['none'],
      id_token_signing_alg_values_supported: ['ES256'],
      // Non-standard: where sidecars subscribe to settings, revocations and refresh epochs.
      settings_stream_endpoint: `${base}${SETTINGS_STREAM_PATH}`,
    };
  });
  app.get(JWKS_PATH, async (_req, reply) => {
    // Short cache: verifiers re-fetch on an unknown kid anyway, and rotation publishes `next` ahead.
    reply.header('content-type', 'application/jwk-set+json').header('cache-control', 'public, max-age=60');
    return ctx.keys.jwks();
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  app.get('/healthz', async (_req, reply) => {
    const plane = ctx.tokenPlane();
    if (!plane) return { ok: true, revision: ctx.store.state.revision };
    // Its token endpoint is the token plane's: while that is being restarted the IdP cannot issue.
    const tokenPlane = { url: plane.url, pid: plane.pid ?? null, running: plane.running(), restarts: plane.restarts() };
    if (!tokenPlane.running) reply.code(503);
    return { ok: tokenPlane.running, revision: ctx.store.state.revision, tokenPlane };
  });
}
