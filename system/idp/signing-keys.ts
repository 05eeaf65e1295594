import { createPrivateKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { AccessTokenClaims } from '../protocol/claims.js';
import { jwkThumbprint } from '../protocol/jwk-thumbprint.js';
import { createCompactSigner } from './compact-jws.js';

/** A public ES256 JWK as published at the IdP's `jwks_uri`. */
export interface PublicSigningJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

/** What is persisted per key (private JWK) so a restarted IdP keeps its keys and issued tokens stay valid. */
export interface SigningKeyRecord {
  kid: string;
  privateJwk: JsonWebKey;
  role: 'previous' | 'current' | 'next';
  /** When it stopped being current, ms since the epoch (previous keys only). */
  retiredAtMs: number | null;
}

interface SigningKey {
  kid: string;
  privateJwk: JsonWebKey;
  publicJwk: PublicSigningJwk;
  sign: (claims: AccessTokenClaims) => string;
  retiredAtMs: number | null;
}

/** Creates a fresh P-256 key record (kid = RFC 7638 thumbprint). */
export async function generateSigningKeyRecord(role: SigningKeyRecord['role']): Promise<SigningKeyRecord> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateJwk = privateKey.export({ format: 'jwk' });
  const kid = jwkThumbprint({ kty: 'EC', crv: 'P-256', x: privateJwk.x!, y: privateJwk.y! });
  return { kid, privateJwk, role, retiredAtMs: null };
}

function load(rec: SigningKeyRecord): SigningKey {
  const key: KeyObject = createPrivateKey({ key: rec.privateJwk, format: 'jwk' });
  const { x, y } = rec.privateJwk;
  return {
    kid: rec.kid,
    privateJwk: rec.privateJwk,
    publicJwk: { kty: 'EC', crv: 'P-256', x: x!, y: y!, kid: rec.kid, alg: 'ES256', use: 'sig' },
    // node:crypto with a parsed KeyObject: the fastest ES256 signer measured here (see compact-jws.ts).
    sign: createCompactSigner(key, 'ES256', rec.kid),
    retiredAtMs: rec.retiredAtMs,
  };
}

/**
 * The IdP's ES256 signing keys: `current` signs, `next` is published ahead so verifiers already hold it
 * when it is promoted, `previous` keys stay published until every token they signed has expired.
 */
export class SigningKeyRing {
  private previous: SigningKey[];
  private current: SigningKey;
  private next: SigningKey;
  private readonly listeners: (() => void)[] = [];

  constructor(records: SigningKeyRecord[]) {
    const cur = records.find((r) => r.role === 'current');
    const nxt = records.find((r) => r.role === 'next');
    if (!cur || !nxt) throw new Error('signing key ring needs a current and a next key');
    this.current = load(cur);
    this.next = load(nxt);
    this.previous = records.filter((r) => r.role === 'previous').map(load);
  }

  /** Key id that signs new tokens. */
  get currentKid(): string {
    return this.current.kid;
  }

  get nextKid(): string {
    return this.next.kid;
  }

  get previousKids(): string[] {
    return this.previous.map((k) => k.kid);
  }

  /** Signs access-token claims with the current key (`kid` in the header). */
  sign(claims: AccessTokenClaims): string {
    return this.current.sign(claims);
  }

  /** The current key's private JWK parts (for the IdP's Go token plane, which signs with it too). */
  currentPrivate(): { kid: string; d: string; x: string; y: string } {
    const { d, x, y } = this.current.privateJwk;
    return { kid: this.current.kid, d: d!, x: x!, y: y! };
  }

  /** Calls `listener` after every `apply` (a rotation, a retired or pruned key). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Published keys: previous, current, next. */
  jwks(): { keys: PublicSigningJwk[] } {
    return { keys: [...this.previous, this.current, this.next].map((k) => ({ ...k.publicJwk })) };
  }

  /**
   * The records after a rotation (next → current, current → previous, a fresh next); previous keys
   * retired longer ago than `maxTokenTtlSeconds` (+ skew) are dropped: nothing they signed is still valid.
   * Does not change the ring; `apply` does, once the records are stored.
   */
  async rotated(nowMs: number, maxTokenTtlSeconds: number, skewSeconds = 5): Promise<SigningKeyRecord[]> {
    const keepAfter = nowMs - (maxTokenTtlSeconds + skewSeconds) * 1000;
    const previous = this.previous.filter((k) => (k.retiredAtMs ?? nowMs) > keepAfter).map((k) => record(k, 'previous', k.retiredAtMs));
    previous.push(record(this.current, 'previous', nowMs));
    return [...previous, record(this.next, 'current', null), await generateSigningKeyRecord('next')];
  }

  /** Previous keys that can be dropped now (every token they signed has expired). */
  expiredPrevious(nowMs: number, maxTokenTtlSeconds: number, skewSeconds = 5): string[] {
    const keepAfter = nowMs - (maxTokenTtlSeconds + skewSeconds) * 1000;
    return this.previous.filter((k) => (k.retiredAtMs ?? nowMs) <= keepAfter).map((k) => k.kid);
  }

  /** Swaps in a stored key set (after rotation or pruning). */
  apply(records: SigningKeyRecord[]): void {
    const ring = new SigningKeyRing(records);
    // Assign all three at once so a concurrent sign never sees a half-rotated ring.
    [this.previous, this.current, this.next] = [ring.previous, ring.current, ring.next];
    for (const listener of this.listeners) listener();
  }

  records(): SigningKeyRecord[] {
    return [
      ...this.previous.map((k) => record(k, 'previous', k.retiredAtMs)),
      record(this.current, 'current', null),
      record(this.next, 'next', null),
    ];
  }
}

function record(k: SigningKey, role: SigningKeyRecord['role'], retiredAtMs: number | null): SigningKeyRecord {
  return { kid: k.kid, privateJwk: k.privateJwk, role, retiredAtMs };
}
