import { createHash } from 'node:crypto';

/** The public members RFC 7638 hashes, per key type. */
export type ThumbprintInput = { kty: 'RSA'; e: string; n: string } | { kty: 'EC'; crv: string; x: string; y: string };

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url), used as `kid` by the identity issuer and the IdP.
 * Synchronous (node:crypto), so an issuer can be created without `await`; `issuer.test.ts` checks it
 * equals jose's `calculateJwkThumbprint`.
 */
export function jwkThumbprint(jwk: ThumbprintInput): string {
  // Required members only, in lexicographic order, no whitespace: exactly the canonical form.
  const canonical =
    jwk.kty === 'RSA'
      ? JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })
      : JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}
