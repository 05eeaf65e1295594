import type { ErrorCode } from '../../protocol/errors.js';
import type { VerifyResult } from '../../protocol/metrics.js';
import { TOKEN_TTL_LIMIT_SECONDS } from '../../protocol/settings.js';
import { isCanonicalEs256Segment } from '../../protocol/es256.js';
import type { KeyStore, SignatureVerifier } from './jwks.js';
import type { RevocationList } from './revocations.js';
import { ROLE_BITS, type VerifyCache, type VerifiedToken } from './verify-cache.js';

/** Why a token was refused: metric label, stable error code and an actionable message. */
export interface VerifyFailure {
  ok: false;
  result: Exclude<VerifyResult, 'ok' | 'observe_denied' | 'skipped' | 'forbidden'>;
  code: ErrorCode;
  message: string;
}

export type VerifyOutcome = VerifiedToken | VerifyFailure;

function failure(result: VerifyFailure['result'], code: ErrorCode, message: string): VerifyFailure {
  return Object.freeze({ ok: false as const, result, code, message });
}

// Allocated once: a hostile flood of bad tokens should not allocate per request either.
export const FAILURES = {
  missing: failure('missing', 'ERR_TOKEN_MISSING', 'No bearer token: send "Authorization: Bearer <access token from the IdP>".'),
  malformed: failure(
    'malformed',
    'ERR_TOKEN_MALFORMED',
    'The bearer token is not a well-formed JWS JWT with the required claims; fetch a new one from the IdP.',
  ),
  badAlg: failure('bad_alg', 'ERR_TOKEN_ALG', 'The token algorithm is not allowed; only ES256 tokens from the IdP are accepted.'),
  signature: failure(
    'invalid_signature',
    'ERR_TOKEN_SIGNATURE',
    'The token signature does not verify against the IdP JWKS; use a token issued by the IdP, unmodified.',
  ),
  unknownKid: failure('unknown_kid', 'ERR_TOKEN_UNKNOWN_KID', 'The token "kid" is not in the IdP JWKS; use a token issued by the IdP.'),
  expired: failure('expired', 'ERR_TOKEN_EXPIRED', 'The token has expired; fetch a new one from the IdP.'),
  notYetValid: failure('not_yet_valid', 'ERR_TOKEN_NOT_YET_VALID', 'The token is not valid yet (nbf/iat in the future); check the clocks.'),
  issuer: failure('wrong_issuer', 'ERR_TOKEN_ISSUER', "The token issuer is not this sidecar's IdP; exchange at the configured IdP."),
  audience: failure(
    'wrong_audience',
    'ERR_TOKEN_AUDIENCE',
    'The token audience does not include this service; request a token whose aud names it.',
  ),
  revoked: failure('revoked', 'ERR_TOKEN_REVOKED', 'The token has been revoked; fetch a new one from the IdP.'),
  lifetime: failure(
    'lifetime',
    'ERR_TOKEN_LIFETIME',
    "The token lives longer than the IdP's token TTL allows (exp too far after iat or now); use a token issued by the IdP.",
  ),
  nonCanonical: failure(
    'invalid_signature',
    'ERR_TOKEN_SIGNATURE',
    'The token signature is not in canonical form (ES256: 64 bytes, low S, canonical base64url); send the token exactly as the IdP issued it.',
  ),
  ambiguous: failure(
    'ambiguous',
    'ERR_TOKEN_AMBIGUOUS',
    'The request carries more than one Authorization header; send exactly one "Authorization: Bearer <token>".',
  ),
} as const;

export interface TokenVerifierOptions {
  /** This service's name: must be in `aud`, and `roles[service]` are the roles it grants here. */
  service: string;
  /** Expected `iss` (the IdP's discovery `issuer`). */
  issuer: string;
  keys: KeyStore;
  cache: VerifyCache;
  revocations: RevocationList;
  /** Allowed clock skew for exp/nbf/iat, seconds. Default 10. */
  skewSeconds?: number;
  /**
   * The longest lifetime a token may have, seconds: the IdP's `tokenTtlSeconds` (the largest seen).
   * A token with `exp − iat` or `exp − now` beyond it plus skew is refused. Default 86,400.
   */
  maxLifetimeSeconds?: () => number;
  now?: () => number;
}

/**
 * What one inbound keep-alive connection remembers of the last token verified on it: the `Authorization`
 * value exactly as received and what it verified to. A caller's sidecar sends the same token on a
 * connection until it refreshes it, so a repeat costs a string comparison instead of the cache's SHA-256
 * (~1.9 µs of enforce's ~5.6 on the request path). Trusted only while the cache's epoch holds (any
 * revocation or clear ends it) and until the token's `exp`; it holds at most one bearer token per open
 * connection, dropped with the connection, while the cache shared by all connections stays keyed by hash.
 */
export interface VerifyMemo {
  authorization: string;
  verified: VerifiedToken | null;
  epoch: number;
}

export function createVerifyMemo(): VerifyMemo {
  return { authorization: '', verified: null, epoch: -1 };
}

export interface TokenVerifier {
  /**
   * Verifies a raw `Authorization` header value. Synchronous for cache hits and known keys; a
   * promise only when an unknown `kid` needs a (rate-limited) JWKS re-fetch. With a memo (one per
   * connection), a repeat of the connection's last verified value is answered from it.
   */
  verify(authorization: string | undefined, memo?: VerifyMemo): VerifyOutcome | Promise<VerifyOutcome>;
}

/**
 * Local verification: ES256 signature against the IdP JWKS (fast-jwt), then iss, aud, exp/nbf/iat
 * with skew, revocation; a success is cached by token hash until `exp`.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { service, issuer, keys, cache, revocations } = options;
  const skewMs = (options.skewSeconds ?? 10) * 1000;
  const now = options.now ?? Date.now;
  const maxLifetimeSeconds = options.maxLifetimeSeconds ?? (() => TOKEN_TTL_LIMIT_SECONDS);

  function finish(token: string, hash: string, verifier: SignatureVerifier): VerifyOutcome {
    let claims: Record<string, unknown>;
    try {
      claims = verifier(token);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'FAST_JWT_INVALID_SIGNATURE') return FAILURES.signature;
      if (code === 'FAST_JWT_INVALID_ALGORITHM') return FAILURES.badAlg;
      return FAILURES.malformed;
    }
    const { iss, aud, exp, nbf, iat, sub, jti, roles } = claims;
    if (typeof exp !== 'number' || typeof iat !== 'number' || typeof sub !== 'string' || typeof jti !== 'string') {
      return FAILURES.malformed;
    }
    if (iss !== issuer) return FAILURES.issuer;
    if (!(Array.isArray(aud) ? aud.includes(service) : aud === service)) return FAILURES.audience;
    const t = now();
    const expiresAtMs = exp * 1000;
    if (expiresAtMs + skewMs <= t) return FAILURES.expired;
    if ((typeof nbf === 'number' && nbf * 1000 - skewMs > t) || iat * 1000 - skewMs > t) return FAILURES.notYetValid;
    // A correctly signed token for the year 3000 is still not one this IdP issued under its TTL.
    const maxLifetimeMs = maxLifetimeSeconds() * 1000 + skewMs;
    if (expiresAtMs - iat * 1000 > maxLifetimeMs || expiresAtMs - t > maxLifetimeMs) return FAILURES.lifetime;
    const issuedAtMs = iat * 1000;
    if (revocations.isRevoked(sub, jti, issuedAtMs)) return FAILURES.revoked;
    let roleMask = 0;
    const own = roles !== null && typeof roles === 'object' ? (roles as Record<string, unknown>)[service] : undefined;
    if (Array.isArray(own)) {
      for (const r of own) roleMask |= r === 'read' ? ROLE_BITS.read : r === 'write' ? ROLE_BITS.write : 0;
    }
    const verified: VerifiedToken = { ok: true, sub, jti, issuedAtMs, expiresAtMs: expiresAtMs + skewMs, roleMask };
    cache.set(hash, verified);
    return verified;
  }

  function remember(memo: VerifyMemo | undefined, authorization: string, outcome: VerifyOutcome, epoch: number): VerifyOutcome {
    if (memo !== undefined && outcome.ok) {
      memo.authorization = authorization;
      memo.verified = outcome;
      memo.epoch = epoch;
    }
    return outcome;
  }

  return {
    verify(authorization, memo) {
      if (authorization === undefined || authorization.length === 0) return FAILURES.missing;
      if (memo !== undefined && memo.verified !== null && memo.epoch === cache.epoch && authorization === memo.authorization) {
        if (memo.verified.expiresAtMs > now()) return memo.verified;
      }
      // The epoch before any work: a revocation landing during a JWKS re-fetch must end the memo too.
      const epoch = cache.epoch;
      // RFC 6750: scheme is case-insensitive, one space, then the token.
      if (!authorization.startsWith('Bearer ') && (authorization.length < 8 || authorization.slice(0, 7).toLowerCase() !== 'bearer ')) {
        return FAILURES.missing;
      }
      const token = authorization.slice(7).trim();
      if (token.length === 0) return FAILURES.missing;
      const hash = cache.key(token);
      const hit = cache.get(hash, now());
      if (hit !== undefined) return remember(memo, authorization, hit, epoch);

      const dot = token.indexOf('.');
      if (dot <= 0) return FAILURES.malformed;
      let header: { alg?: unknown; kid?: unknown };
      try {
        header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as typeof header;
      } catch {
        return FAILURES.malformed;
      }
      if (header === null || typeof header !== 'object') return FAILURES.malformed;
      // Algorithm allow-list before any key lookup: `none`, HS256-with-the-public-key and friends stop here.
      if (header.alg !== 'ES256') return FAILURES.badAlg;
      if (typeof header.kid !== 'string') return FAILURES.unknownKid;
      // Exactly three segments with a signature, and that signature in its one canonical form.
      const lastDot = token.lastIndexOf('.');
      if (lastDot === dot || lastDot === token.length - 1) return FAILURES.malformed;
      if (!isCanonicalEs256Segment(token.slice(lastDot + 1))) return FAILURES.nonCanonical;
      const known = keys.get(header.kid);
      if (known) return remember(memo, authorization, finish(token, hash, known), epoch);
      return keys
        .getOrRefetch(header.kid)
        .then((v) => (v ? remember(memo, authorization, finish(token, hash, v), epoch) : FAILURES.unknownKid));
    },
  };
}
