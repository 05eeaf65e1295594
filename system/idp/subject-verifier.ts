import { createPublicKey } from 'node:crypto';
import { createDecoder, createVerifier } from 'fast-jwt';
import { parseServiceAccountSubject, SA_TOKEN_AUDIENCE } from '../protocol/claims.js';
import { mapTokenError, SubjectTokenError } from './subject-errors.js';

export { SubjectTokenError } from './subject-errors.js';

/** Who presented a verified service-account token. */
export interface VerifiedSubject {
  /** The service identity: the token's Kubernetes namespace. */
  service: string;
  serviceAccount: string;
  /** `sub` of the SA token (`system:serviceaccount:<ns>:<sa>`). */
  subject: string;
  issuer: string;
  /** `exp` of the SA token, seconds since the epoch. */
  expiresAt: number;
}

/**
 * Verifies the caller's service-account token. Pluggable: `JwksIssuerVerifier` checks signatures against
 * trusted issuers' JWKS; a TokenReview-based verifier can implement the same interface later.
 * Rejects with `SubjectTokenError` only.
 */
export interface SubjectTokenVerifier {
  verify(token: string): Promise<VerifiedSubject>;
  /**
   * What the IdP's Go token plane needs to verify tokens itself (system/idp/token-plane.ts): the JWKS
   * issuers' keys held now and the checks' parameters. Absent or null: it verifies nothing itself.
   */
  trust?(): TokenPlaneTrust | null;
  /** Calls `listener` whenever `trust()` changes (a JWKS fetch brought other keys). */
  onTrustChange?(listener: () => void): void;
  /** Loads every issuer's keys now (inline ones at once, others fetched), so `trust()` holds them. */
  prime?(): Promise<void>;
}

/** The JWKS checks as the Go token plane repeats them (its `PUT /state` `trust`). */
export interface TokenPlaneTrust {
  audience: string;
  skewSeconds: number;
  maxTokenBytes: number;
  cacheSize: number;
  issuers: { issuer: string; keys: object[] }[];
}

/** One cluster whose service-account tokens the IdP accepts. */
export interface TrustedIssuer {
  /** Exact `iss` of its tokens. */
  issuer: string;
  /** Its JWKS URL (`/openid/v1/jwks` on a Kubernetes API server); unused when `jwks` is given. */
  jwksUri: string;
  /**
   * The issuer's public keys given inline instead of fetched (like the apiserver's
   * `--service-account-key-file` or a SPIRE trust bundle): for an issuer the IdP cannot reach, such
   * as the token storm's own issuer on the runner's host. `jwksUri` then only names it in messages.
   */
  jwks?: { keys: readonly object[] };
}

export interface JwksIssuerVerifierOptions {
  trustedIssuers: TrustedIssuer[];
  /** Required `aud` member. Default `authlab-idp`. */
  audience?: string;
  /** Allowed clock skew for `exp`/`nbf`, seconds. Default 5 (small, so expiry is crisp). */
  skewSeconds?: number;
  /** Largest accepted token, bytes. Default 8192. */
  maxTokenBytes?: number;
  /** Least time between two JWKS fetches of one issuer triggered by unknown `kid`s, ms. Default 5000. */
  minRefetchIntervalMs?: number;
  /** Injected fetch (tests). Default global `fetch`. */
  fetch?: typeof fetch;
  /** Timeout of one JWKS fetch, ms. Default 5000. */
  fetchTimeoutMs?: number;
  /**
   * Verified tokens remembered until their `exp`, so a sidecar re-exchanging the SA token it already
   * presented costs a map lookup, not an RSA verify. 0 disables. Default 10000 entries.
   */
  cacheSize?: number;
}

const ALLOWED_ALGS = { RS256: 'RSA', ES256: 'EC' } as const;
type AllowedAlg = keyof typeof ALLOWED_ALGS;

interface CachedKey {
  kty: string;
  /** The JWK as published. */
  jwk: object;
  verify: (token: string) => Record<string, unknown>;
}

interface IssuerState {
  trusted: TrustedIssuer;
  keys: Map<string, CachedKey>;
  lastFetchMs: number;
  /** Set when the last JWKS fetch failed; reported instead of "unknown kid" until a fetch succeeds. */
  lastError: SubjectTokenError | null;
  inflight: Promise<void> | null;
}

/**
 * Verifies SA tokens of several trusted issuers (one per cluster): picks the issuer by the unverified
 * `iss`, then verifies with that issuer's JWKS (cached; an unknown `kid` triggers a rate-limited
 * re-fetch). Allow-list RS256/ES256, `aud` must contain `authlab-idp`, `exp`/`nbf` with small skew.
 */
export class JwksIssuerVerifier implements SubjectTokenVerifier {
  private readonly issuers = new Map<string, IssuerState>();
  private readonly audience: string;
  private readonly skewMs: number;
  private readonly maxBytes: number;
  private readonly minRefetchMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly fetchTimeoutMs: number;
  private readonly decode = createDecoder({ complete: true });
  private readonly cacheSize: number;
  /** token → subject; insertion order doubles as eviction order (oldest first). */
  private readonly cache = new Map<string, VerifiedSubject>();
  private readonly trustListeners: (() => void)[] = [];

  constructor(opts: JwksIssuerVerifierOptions) {
    for (const t of opts.trustedIssuers) {
      this.issuers.set(t.issuer, { trusted: t, keys: new Map(), lastFetchMs: 0, lastError: null, inflight: null });
    }
    this.audience = opts.audience ?? SA_TOKEN_AUDIENCE;
    this.skewMs = (opts.skewSeconds ?? 5) * 1000;
    this.maxBytes = opts.maxTokenBytes ?? 8192;
    this.minRefetchMs = opts.minRefetchIntervalMs ?? 5000;
    this.fetchImpl = opts.fetch ?? fetch;
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? 5000;
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  async verify(token: string): Promise<VerifiedSubject> {
    const hit = this.cache.get(token);
    if (hit) {
      // Same signature, same key, same claims: only time can change the verdict.
      if (hit.expiresAt * 1000 + this.skewMs > Date.now()) return hit;
      this.cache.delete(token);
    }
    const subject = await this.verifyUncached(token);
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(token, subject);
    }
    return subject;
  }

  trust(): TokenPlaneTrust {
    return {
      audience: this.audience,
      skewSeconds: this.skewMs / 1000,
      maxTokenBytes: this.maxBytes,
      cacheSize: this.cacheSize,
      issuers: [...this.issuers.values()].map((s) => ({ issuer: s.trusted.issuer, keys: [...s.keys.values()].map((k) => k.jwk) })),
    };
  }

  onTrustChange(listener: () => void): void {
    this.trustListeners.push(listener);
  }

  async prime(): Promise<void> {
    await Promise.all([...this.issuers.values()].map((s) => this.refresh(s)));
  }

  private async verifyUncached(token: string): Promise<VerifiedSubject> {
    if (typeof token !== 'string' || token.length === 0) {
      throw new SubjectTokenError('invalid_request', 'missing', 'subject_token is empty: send the service-account JWT');
    }
    if (Buffer.byteLength(token) > this.maxBytes) {
      throw new SubjectTokenError(
        'invalid_request',
        'oversized',
        `subject_token is ${Buffer.byteLength(token)} bytes; the limit is ${this.maxBytes}: send the projected service-account token itself`,
      );
    }
    let decoded: { header: Record<string, unknown>; payload: Record<string, unknown> };
    try {
      decoded = this.decode(token) as typeof decoded;
    } catch (err) {
      throw new SubjectTokenError(
        'invalid_grant',
        'malformed',
        'subject_token is not a JWT (three base64url parts with a JSON header and payload)',
        { cause: err },
      );
    }
    const { header, payload } = decoded;
    if (typeof payload !== 'object' || payload === null) {
      throw new SubjectTokenError('invalid_grant', 'malformed', 'subject_token payload is not a JSON object');
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || !(alg in ALLOWED_ALGS)) {
      throw new SubjectTokenError(
        'invalid_grant',
        'bad_alg',
        `subject_token alg ${JSON.stringify(alg)} is not allowed; use RS256 or ES256`,
      );
    }
    const iss = payload.iss;
    const state = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (!state) {
      throw new SubjectTokenError(
        'invalid_grant',
        'untrusted_issuer',
        `subject_token issuer ${JSON.stringify(iss)} is not trusted; add it to trustedIssuers`,
      );
    }
    const key = await this.keyFor(state, header.kid);
    if (key.kty !== ALLOWED_ALGS[alg as AllowedAlg]) {
      throw new SubjectTokenError('invalid_grant', 'bad_alg', `subject_token alg ${alg} does not match its key type ${key.kty}`);
    }
    let claims: Record<string, unknown>;
    try {
      claims = key.verify(token);
    } catch (err) {
      throw mapTokenError(err, this.audience);
    }
    return this.subjectOf(claims, state.trusted.issuer);
  }

  private subjectOf(claims: Record<string, unknown>, issuer: string): VerifiedSubject {
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const parsed = parseServiceAccountSubject(sub);
    const k8s = claims['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown } } | undefined;
    const namespace = typeof k8s?.namespace === 'string' ? k8s.namespace : parsed?.namespace;
    if (!parsed || !namespace || namespace !== parsed.namespace) {
      throw new SubjectTokenError(
        'invalid_grant',
        'bad_subject',
        `subject_token sub ${JSON.stringify(sub)} is not system:serviceaccount:<namespace>:<name> matching its kubernetes.io namespace`,
      );
    }
    return {
      service: namespace,
      serviceAccount: parsed.serviceAccount,
      subject: sub,
      issuer,
      expiresAt: typeof claims.exp === 'number' ? claims.exp : 0,
    };
  }

  private async keyFor(state: IssuerState, kid: unknown): Promise<CachedKey> {
    let key = findKey(state, kid);
    if (key) return key;
    if (state.inflight || Date.now() - state.lastFetchMs >= this.minRefetchMs) {
      await this.refresh(state);
      key = findKey(state, kid);
      if (key) return key;
    }
    if (state.lastError) throw state.lastError;
    throw new SubjectTokenError(
      'invalid_grant',
      'unknown_kid',
      `subject_token kid ${JSON.stringify(kid)} is not in ${state.trusted.jwksUri}; was it signed by this cluster's current key?`,
    );
  }

  /** Fetches one issuer's JWKS; concurrent callers share one fetch. */
  private refresh(state: IssuerState): Promise<void> {
    if (state.inflight) return state.inflight;
    state.lastFetchMs = Date.now();
    state.inflight = this.fetchJwks(state)
      .then(
        (keys) => {
          // A key the cluster stopped publishing must stop vouching for cached tokens too.
          const dropped = [...state.keys.keys()].some((kid) => !keys.has(kid));
          state.keys = keys;
          state.lastError = null;
          if (dropped) for (const [t, s] of this.cache) if (s.issuer === state.trusted.issuer) this.cache.delete(t);
          for (const listener of this.trustListeners) listener();
        },
        (err: SubjectTokenError) => {
          state.lastError = err;
        },
      )
      .finally(() => {
        state.inflight = null;
      });
    return state.inflight;
  }

  private async fetchJwks(state: IssuerState): Promise<Map<string, CachedKey>> {
    const { issuer, jwksUri, jwks: inline } = state.trusted;
    let body: unknown = inline;
    if (!inline) {
      try {
        const res = await this.fetchImpl(jwksUri, { signal: AbortSignal.timeout(this.fetchTimeoutMs) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        body = await res.json();
      } catch (err) {
        throw new SubjectTokenError(
          'temporarily_unavailable',
          'jwks_unavailable',
          `cannot fetch the JWKS of issuer ${issuer} from ${jwksUri}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    const keys = new Map<string, CachedKey>();
    const list = (body as { keys?: unknown }).keys;
    for (const jwk of Array.isArray(list) ? (list as Record<string, unknown>[]) : []) {
      if (typeof jwk.kid !== 'string' || (jwk.kty !== 'RSA' && jwk.kty !== 'EC')) continue;
      if (jwk.use !== undefined && jwk.use !== 'sig') continue;
      try {
        const pem = createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' })
          .export({ type: 'spki', format: 'pem' })
          .toString();
        keys.set(jwk.kid, {
          kty: jwk.kty,
          jwk,
          verify: createVerifier({
            key: pem,
            algorithms: [jwk.kty === 'RSA' ? 'RS256' : 'ES256'],
            allowedIss: issuer,
            allowedAud: this.audience,
            clockTolerance: this.skewMs,
            requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
            // No verify cache: a benchmark must measure the real cost of every exchange.
            cache: false,
          }) as (token: string) => Record<string, unknown>,
        });
      } catch {
        // A key this verifier cannot use (other curve, broken JWK) cannot verify anything: skip it.
      }
    }
    return keys;
  }
}

/**
 * The issuer's key for `kid`. Module-level, not a closure made per verify: under tsx (esbuild's
 * keepNames) each closure costs a `__name` call, 0.4 % of the IdP's busy time in `bench:idp`'s profile.
 */
function findKey(state: IssuerState, kid: unknown): CachedKey | undefined {
  if (typeof kid === 'string') return state.keys.get(kid);
  // Kubernetes always sets kid; tolerate its absence only when the issuer has exactly one key.
  return state.keys.size === 1 ? state.keys.values().next().value : undefined;
}
