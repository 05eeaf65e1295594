import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import { fetch as undiciFetch, type Dispatcher } from 'undici';

/** Verifies a compact JWS signature with one key; returns the payload or throws a fast-jwt TokenError. */
export type SignatureVerifier = (token: string) => Record<string, unknown>;

export interface KeyStoreOptions {
  /** The IdP's `jwks_uri` (from discovery). */
  jwksUri: string;
  dispatcher?: Dispatcher;
  /** Minimum time between two fetches triggered by an unknown `kid`, ms (a forged kid must not DoS the IdP). Default 10 s. */
  minRefetchIntervalMs?: number;
  now?: () => number;
}

export interface KeyStore {
  /** Fetches the JWKS now (single flight); throws when unreachable or unusable. */
  refresh(): Promise<void>;
  /** The verifier for `kid`, or undefined (sync: the hot path). */
  get(kid: string): SignatureVerifier | undefined;
  /** Like get, but an unknown kid triggers one rate-limited re-fetch first. */
  getOrRefetch(kid: string): Promise<SignatureVerifier | undefined>;
  kids(): string[];
  /** Number of JWKS fetches so far. */
  fetches(): number;
}

/**
 * The IdP's signing keys, each wrapped once in a fast-jwt verifier restricted to ES256. Only the
 * keys in the JWKS are ever used: a token's `jku`, `x5u` or embedded `jwk` header is ignored.
 */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const now = options.now ?? Date.now;
  const minInterval = options.minRefetchIntervalMs ?? 10_000;
  let verifiers = new Map<string, SignatureVerifier>();
  let inflight: Promise<void> | null = null;
  let lastFetchAt = -Infinity;
  let count = 0;
  // The kid of the last token whose signature verified. A valid token under a different kid means the
  // IdP rotated (its published `next` became current, and it published a new `next`): the store
  // re-fetches at once, so a second rotation soon after finds its key here instead of meeting the
  // unknown-kid rate limit (which otherwise refused every token for up to minRefetchIntervalMs).
  // Only a verified signature triggers it, so a forged kid cannot make the store fetch.
  // A kid the latest fetch was made for (it was unknown) needs none: that JWKS already holds the new `next`.
  let lastVerifiedKid: string | undefined;
  let fetchedFor: { kid: string; fetch: number } | undefined;
  const verified = (kid: string) => {
    if (kid === lastVerifiedKid) return;
    const rotated = lastVerifiedKid !== undefined;
    lastVerifiedKid = kid;
    if (rotated && !(fetchedFor?.kid === kid && fetchedFor.fetch === count)) void refresh().catch(() => {});
  };

  async function load(): Promise<void> {
    lastFetchAt = now();
    count++;
    const res = await undiciFetch(options.jwksUri, {
      signal: AbortSignal.timeout(5000),
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    if (res.status !== 200) throw new Error(`JWKS ${options.jwksUri} answered ${res.status}`);
    const body = (await res.json()) as { keys?: unknown };
    if (!Array.isArray(body.keys)) throw new Error(`JWKS ${options.jwksUri} has no keys array`);
    const next = new Map<string, SignatureVerifier>();
    for (const jwk of body.keys as (JsonWebKey & { kid?: string; use?: string; alg?: string })[]) {
      if (typeof jwk.kid !== 'string' || jwk.kty !== 'EC' || jwk.crv !== 'P-256') continue;
      if (jwk.use !== undefined && jwk.use !== 'sig') continue;
      if (jwk.alg !== undefined && jwk.alg !== 'ES256') continue;
      // Reuse the verifier of a key we already hold: its fast-jwt key cache stays warm.
      const existing = verifiers.get(jwk.kid);
      if (existing) {
        next.set(jwk.kid, existing);
        continue;
      }
      const { kid: _kid, use: _use, alg: _alg, ...keyJwk } = jwk;
      const pem = createPublicKey({ key: keyJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
      const verify = createVerifier({
        key: pem,
        algorithms: ['ES256'],
        // Time claims are checked by the caller against its injected clock, with its own skew.
        ignoreExpiration: true,
        ignoreNotBefore: true,
        cache: false,
      }) as SignatureVerifier;
      const kid = jwk.kid;
      next.set(kid, (token) => {
        const payload = verify(token); // throws on a bad signature: nothing below runs
        verified(kid);
        return payload;
      });
    }
    verifiers = next;
  }

  function refresh(): Promise<void> {
    if (!inflight) {
      inflight = load().finally(() => {
        inflight = null;
      });
    }
    return inflight;
  }

  return {
    refresh,
    get: (kid) => verifiers.get(kid),
    async getOrRefetch(kid) {
      const v = verifiers.get(kid);
      if (v) return v;
      if (inflight) await inflight.catch(() => {});
      else if (now() - lastFetchAt >= minInterval) {
        fetchedFor = { kid, fetch: count + 1 };
        await refresh().catch(() => {});
      }
      return verifiers.get(kid);
    },
    kids: () => [...verifiers.keys()],
    fetches: () => count,
  };
}
