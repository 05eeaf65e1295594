import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureIdp, type FixtureIdp } from './support/fixture-idp.js';
import { createKeyStore } from '../system/sidecar/verify/jwks.js';
import { createRevocationList } from '../system/sidecar/verify/revocations.js';
import { createVerifyCache, type VerifyCache } from '../system/sidecar/verify/verify-cache.js';
import { createTokenVerifier, createVerifyMemo, type TokenVerifier, type VerifyOutcome } from '../system/sidecar/verify/verifier.js';

// The per-connection memo (verifier.ts, `VerifyMemo`) answers a repeat of a connection's last verified
// token without hashing it. It must never answer what the cache and a full verify would refuse.

let idp: FixtureIdp;
let keys: ReturnType<typeof createKeyStore>;

beforeAll(async () => {
  idp = await startFixtureIdp();
  keys = createKeyStore({ jwksUri: `${idp.url}/v1/jwks` });
  await keys.refresh();
});
afterAll(() => idp?.close());

/** A verifier over a cache that counts its hashes, with a clock the test moves. */
function setup(maxEntries = 100) {
  const clock = { ms: Date.now() };
  const inner = createVerifyCache(maxEntries);
  let hashes = 0;
  const cache: VerifyCache = {
    key: (t) => (hashes++, inner.key(t)),
    get: (k, now) => inner.get(k, now),
    set: (k, v) => inner.set(k, v),
    evict: (p) => inner.evict(p),
    clear: () => inner.clear(),
    get size() {
      return inner.size;
    },
    get epoch() {
      return inner.epoch;
    },
  };
  const revocations = createRevocationList();
  const verifier: TokenVerifier = createTokenVerifier({
    service: 'p1-b',
    issuer: idp.issuer,
    keys,
    cache,
    revocations,
    now: () => clock.ms,
  });
  const verify = (header: string, memo = connection) => verifier.verify(header, memo) as VerifyOutcome;
  const connection = createVerifyMemo();
  return { clock, cache, revocations, verify, connection, hashes: () => hashes };
}

const token = (sub = 'p1-a') => `Bearer ${idp.mint({ sub, aud: ['p1-b'], roles: { 'p1-b': ['read'] } })}`;
const codeOf = (o: VerifyOutcome) => (o.ok ? 'ok' : o.code);

describe('the per-connection verify memo', () => {
  it("answers a repeat of the connection's last token without hashing it, and a new token by a full verify", () => {
    const s = setup();
    const t1 = token();
    expect(codeOf(s.verify(t1))).toBe('ok');
    expect(s.hashes()).toBe(1);
    for (let i = 0; i < 5; i++) expect(codeOf(s.verify(t1))).toBe('ok');
    expect(s.hashes()).toBe(1);

    // The same token on another connection goes through the cache: hashed, found.
    expect(codeOf(s.verify(t1, createVerifyMemo()))).toBe('ok');
    expect(s.hashes()).toBe(2);

    // A different token on the first connection replaces the memo.
    const t2 = token();
    expect(codeOf(s.verify(t2))).toBe('ok');
    expect(codeOf(s.verify(t2))).toBe('ok');
    expect(s.hashes()).toBe(3);
  });

  it("refuses a token that differs from the memo's by one character, and keeps the memo for the good one", () => {
    const s = setup();
    const good = token();
    expect(codeOf(s.verify(good))).toBe('ok');
    const i = good.lastIndexOf('.') + 5;
    const tampered = good.slice(0, i) + (good[i] === 'A' ? 'B' : 'A') + good.slice(i + 1);
    expect(codeOf(s.verify(tampered))).toBe('ERR_TOKEN_SIGNATURE');
    expect(codeOf(s.verify(` ${good.slice(1)}`))).toBe('ERR_TOKEN_MISSING');
    const hashed = s.hashes();
    expect(codeOf(s.verify(good))).toBe('ok');
    expect(s.hashes()).toBe(hashed); // answered from the memo the refusals left alone
  });

  it('ends at the revocation of a token it holds, even one the full cache has dropped already', () => {
    // A cache of one entry: a second token pushes the first out, while the first connection's memo still holds it.
    const s = setup(1);
    const held = token('p2-a');
    expect(codeOf(s.verify(held))).toBe('ok');
    expect(codeOf(s.verify(token('p3-a'), createVerifyMemo()))).toBe('ok');
    expect(s.cache.size).toBe(1);
    const jti = JSON.parse(Buffer.from(held.split('.')[1]!, 'base64url').toString()).jti as string;
    s.revocations.apply({ jtis: [{ jti, exp: Math.floor(s.clock.ms / 1000) + 300 }], subjects: [] });
    s.cache.evict((v) => s.revocations.isRevoked(v.sub, v.jti, v.issuedAtMs));
    expect(codeOf(s.verify(held))).toBe('ERR_TOKEN_REVOKED');
  });

  it("ends at the token's exp (plus skew), as the cache does", () => {
    const s = setup();
    const t = token();
    expect(codeOf(s.verify(t))).toBe('ok');
    s.clock.ms += 299_000;
    expect(codeOf(s.verify(t))).toBe('ok');
    s.clock.ms += 12_000; // 311 s after iat: past exp (300 s) and the 10 s skew
    expect(codeOf(s.verify(t))).toBe('ERR_TOKEN_EXPIRED');
    expect(codeOf(s.verify(t))).toBe('ERR_TOKEN_EXPIRED');
  });

  it('remembers no refusal: a refused token is verified in full every time', () => {
    const s = setup();
    const wrongAudience = `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p9-z'], roles: {} })}`;
    for (let i = 0; i < 3; i++) expect(codeOf(s.verify(wrongAudience))).toBe('ERR_TOKEN_AUDIENCE');
    expect(s.hashes()).toBe(3);
    expect(s.connection.verified).toBeNull();
  });
});
