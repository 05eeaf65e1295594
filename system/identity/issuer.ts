import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { createCompactSigner } from '../idp/compact-jws.js';
import { SA_TOKEN_AUDIENCE, type ServiceAccountClaims } from '../protocol/claims.js';
import { jwkThumbprint } from '../protocol/jwk-thumbprint.js';

/** A public JWK as published in a JWKS (RSA or EC). */
export interface PublicJwk {
  kty: string;
  kid: string;
  alg: string;
  use: 'sig';
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

/** `{"keys": [...]}` as served at a `jwks_uri`. */
export interface JWKS {
  keys: PublicJwk[];
}

export interface IdentityIssuerOptions {
  /** `iss` of minted tokens, e.g. `http://127.0.0.1:41234` (also the discovery issuer). */
  issuer: string;
  /** `aud` of minted tokens. Default `authlab-idp`. */
  audience?: string;
  /** Default lifetime of minted tokens, seconds. Default 3600 (Kubernetes' default projected TTL). */
  ttlSeconds?: number;
  /** Clock in milliseconds since the epoch (injected for tests). Default `Date.now`. */
  now?: () => number;
  /**
   * Signing algorithm. Default `RS256` (RSA-2048, what clusters use by default; ~0.4–1 ms per mint).
   * `ES256` (a kube-apiserver given an EC signing key) mints ~10× faster, for token storms of thousands.
   */
  algorithm?: 'RS256' | 'ES256';
}

export interface MintRequest {
  namespace: string;
  serviceAccount: string;
  /** Pod name for the `kubernetes.io.pod` claim. Default `<serviceAccount>-pod`. */
  podName?: string;
  /** Lifetime of this token, seconds; overrides the issuer default. */
  ttlSeconds?: number;
  /** Extra seconds added to `iat`/`nbf`/`exp` (negative to back-date; tests use it for expired tokens). */
  offsetSeconds?: number;
}

/** The local stand-in for a Kubernetes API server's service-account token issuer. */
export interface IdentityIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  /** Key id of the signing key (RFC 7638 thumbprint). */
  readonly kid: string;
  /** Mints a projected-token-shaped JWT (synchronous; RS256 ~0.4–1 ms per token on one core, ES256 ~50 µs). */
  mint(request: MintRequest): string;
  /**
   * Signs arbitrary claims with the issuer's key (RS256, its kid). For tests of verifiers: a token the
   * cluster would never issue (wrong audience, missing claims) but with a valid signature.
   */
  signClaims(claims: Record<string, unknown>): string;
  /** The public keys verifiers need (one RSA key), as served at `/openid/v1/jwks`. */
  jwks(): JWKS;
}

/** Stable per-name UIDs, so a service account keeps one `uid` across tokens like in a real cluster. */
function uidFor(kind: string, name: string): string {
  const h = createHash('sha256').update(`${kind}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Creates an issuer with a fresh RSA-2048 (or P-256) key. Tokens carry the exact Kubernetes claim layout
 * (docs/DESIGN.md §2 "Identities"), so the IdP cannot tell them from a cluster's.
 */
export function createIdentityIssuer(opts: IdentityIssuerOptions): IdentityIssuer {
  const audience = opts.audience ?? SA_TOKEN_AUDIENCE;
  const ttlSeconds = opts.ttlSeconds ?? 3600;
  const now = opts.now ?? Date.now;
  const alg = opts.algorithm ?? 'RS256';
  let publicJwk: PublicJwk;
  let privateKey: KeyObject;
  if (alg === 'ES256') {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = pair.publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    publicJwk = { kty: 'EC', kid: jwkThumbprint({ kty: 'EC', crv: 'P-256', ...jwk }), alg, use: 'sig', crv: 'P-256', x: jwk.x, y: jwk.y };
    privateKey = pair.privateKey;
  } else {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = pair.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
    publicJwk = { kty: 'RSA', kid: jwkThumbprint({ kty: 'RSA', ...jwk }), alg, use: 'sig', n: jwk.n, e: jwk.e };
    privateKey = pair.privateKey;
  }
  const kid = publicJwk.kid;
  // Header exactly as a kube-apiserver writes it: {"alg":"RS256","kid":"..."}.
  const sign = createCompactSigner(privateKey, alg, kid, null);

  return {
    issuer: opts.issuer,
    audience,
    ttlSeconds,
    kid,
    mint(req) {
      const ttl = req.ttlSeconds ?? ttlSeconds;
      const iat = Math.floor(now() / 1000) + (req.offsetSeconds ?? 0);
      const podName = req.podName ?? `${req.serviceAccount}-pod`;
      const claims: ServiceAccountClaims = {
        iss: opts.issuer,
        sub: `system:serviceaccount:${req.namespace}:${req.serviceAccount}`,
        aud: [audience],
        exp: iat + ttl,
        iat,
        nbf: iat,
        jti: randomUUID(),
        'kubernetes.io': {
          namespace: req.namespace,
          serviceaccount: { name: req.serviceAccount, uid: uidFor('sa', `${req.namespace}/${req.serviceAccount}`) },
          pod: { name: podName, uid: uidFor('pod', `${req.namespace}/${podName}`) },
        },
      };
      return sign(claims);
    },
    signClaims(claims) {
      return sign(claims);
    },
    jwks() {
      return { keys: [{ ...publicJwk }] };
    },
  };
}
