import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { isCanonicalEs256Segment } from '../protocol/es256.js';
import { generateSigningKeyRecord, SigningKeyRing } from './signing-keys.js';

const claims = () => {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: 'http://idp', sub: 'p1-a', aud: ['p1-b'], iat, exp: iat + 300, jti: 'j', roles: { 'p1-b': ['read' as const] }, rev: 1 };
};

describe('signing key ring', () => {
  it('signs ES256 with the current kid; rotation promotes next and keeps the old key published', async () => {
    const ring = new SigningKeyRing([await generateSigningKeyRecord('current'), await generateSigningKeyRecord('next')]);
    const [cur, nxt] = [ring.currentKid, ring.nextKid];
    const token = ring.sign(claims());
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([cur, nxt]);

    const t0 = 1_000_000_000_000;
    ring.apply(await ring.rotated(t0, 300));
    expect(ring.currentKid).toBe(nxt);
    expect(ring.previousKids).toEqual([cur]);
    const kids = ring.jwks().keys.map((k) => k.kid);
    expect(kids).toHaveLength(3);
    expect(kids.slice(0, 2)).toEqual([cur, nxt]);
    // A token signed before rotation still verifies against the published set; so does a new one.
    const jwks = createLocalJWKSet(ring.jwks());
    await expect(jwtVerify(token, jwks, { algorithms: ['ES256'] })).resolves.toBeTruthy();
    const fresh = await jwtVerify(ring.sign(claims()), jwks, { algorithms: ['ES256'] });
    expect(fresh.protectedHeader).toMatchObject({ alg: 'ES256', kid: nxt });

    // The previous key stays until every token it signed has expired (ttl 300 s + 5 s skew).
    expect(ring.expiredPrevious(t0 + 304_000, 300)).toEqual([]);
    expect(ring.expiredPrevious(t0 + 306_000, 300)).toEqual([cur]);
    // A rotation long after drops it.
    ring.apply(await ring.rotated(t0 + 400_000, 300));
    expect(ring.previousKids).toEqual([nxt]);
  });
});

describe('canonical ES256 signatures', () => {
  it('signs with low s only, so one token has one string (OpenSSL returns high s about half the time)', async () => {
    const ring = new SigningKeyRing([await generateSigningKeyRecord('current'), await generateSigningKeyRecord('next')]);
    const jwks = createLocalJWKSet(ring.jwks());
    for (let i = 0; i < 64; i++) {
      const token = ring.sign(claims());
      expect(isCanonicalEs256Segment(token.slice(token.lastIndexOf('.') + 1))).toBe(true);
      if (i < 4) await expect(jwtVerify(token, jwks, { algorithms: ['ES256'] })).resolves.toBeTruthy();
    }
  });
});
