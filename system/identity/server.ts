import Fastify, { type FastifyInstance } from 'fastify';
import type { IdentityIssuer } from './issuer.js';

export interface IdentityServerOptions {
  /**
   * The issuer, or a getter for it: `main.ts` learns its own URL (the default `iss`) only after
   * listening, so it creates the issuer then.
   */
  issuer: IdentityIssuer | (() => IdentityIssuer);
}

/** Path of the JWKS, as on a Kubernetes API server. */
export const IDENTITY_JWKS_PATH = '/openid/v1/jwks';

/**
 * Fastify app serving what a Kubernetes API server serves for service-account issuer discovery:
 * `/.well-known/openid-configuration` and `/openid/v1/jwks`. Not listening yet; the caller listens.
 */
export function buildIdentityServer(opts: IdentityServerOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const get = typeof opts.issuer === 'function' ? opts.issuer : () => opts.issuer as IdentityIssuer;
  app.get('/.well-known/openid-configuration', async () => {
    const issuer = get();
    return {
      // Same fields and values a kube-apiserver publishes (pkg/serviceaccount/openidmetadata.go).
      issuer: issuer.issuer,
      jwks_uri: `${issuer.issuer.replace(/\/$/, '')}${IDENTITY_JWKS_PATH}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    };
  });
  app.get(IDENTITY_JWKS_PATH, async (_req, reply) => {
    reply.header('content-type', 'application/jwk-set+json');
    return get().jwks();
  });
  return app;
}
