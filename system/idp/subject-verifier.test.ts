import { generateKeyPairSync } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentityIssuer, type IdentityIssuer } from '../identity/issuer.js';
import { buildIdentityServer } from '../identity/server.js';
import { JwksIssuerVerifier, SubjectTokenError } from './subject-verifier.js';

/** A real identity server on loopback whose issuer can be swapped (to simulate key rotation). */
async function serveIssuer(
  algorithm: 'RS256' | 'ES256' = 'RS256',
): Promise<{ app: FastifyInstance; url: string; issuer: () => IdentityIssuer; rotate(): void }> {
  let issuer: IdentityIssuer | undefined;
  const app = buildIdentityServer({ issuer: () => issuer! });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  issuer = createIdentityIssuer({ issuer: url, algorithm });
  return { app, url, issuer: () => issuer!, rotate: () => (issuer = createIdentityIssuer({ issuer: url, algorithm })) };
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('JwksIssuerVerifier with inline keys', () => {
  it('verifies an issuer it cannot reach from the keys in its config, and fetches nothing', async () => {
    const issuer = createIdentityIssuer({ issuer: 'https://storm.authlab.invalid' });
    const stranger = createIdentityIssuer({ issuer: 'https://storm.authlab.invalid' });
    let fetched = 0;
    const verifier = new JwksIssuerVerifier({
      trustedIssuers: [{ issuer: issuer.issuer, jwksUri: 'inline', jwks: issuer.jwks() }],
      fetch: () => {
        fetched++;
        throw new Error('no fetch expected');
      },
    });
    const subject = await verifier.verify(issuer.mint({ namespace: 'storm-00001', serviceAccount: 'default' }));
    expect(subject).toMatchObject({ service: 'storm-00001', issuer: issuer.issuer });
    // Same issuer name, other key: refused as an unknown kid, still without a fetch.
    await expect(verifier.verify(stranger.mint({ namespace: 'storm-00001', serviceAccount: 'default' }))).rejects.toMatchObject({
      reason: 'unknown_kid',
    });
    expect(fetched).toBe(0);
  });
});

describe('JwksIssuerVerifier', () => {
  let a: Awaited<ReturnType<typeof serveIssuer>>;
  let b: Awaited<ReturnType<typeof serveIssuer>>;
  let untrusted: Awaited<ReturnType<typeof serveIssuer>>;
  let fetches = 0;
  let verifier: JwksIssuerVerifier;

  beforeAll(async () => {
    [a, b, untrusted] = await Promise.all([serveIssuer(), serveIssuer(), serveIssuer()]);
    verifier = new JwksIssuerVerifier({
      trustedIssuers: [a, b].map((s) => ({ issuer: s.url, jwksUri: `${s.url}/openid/v1/jwks` })),
      minRefetchIntervalMs: 300,
      fetch: (input, init) => {
        fetches++;
        return fetch(input, init);
      },
    });
  });
  afterAll(async () => {
    await Promise.all([a, b, untrusted].map((s) => s.app.close()));
  });

  const reject = async (token: string) => {
    try {
      await verifier.verify(token);
    } catch (err) {
      expect(err).toBeInstanceOf(SubjectTokenError);
      return err as SubjectTokenError;
    }
    throw new Error('token was accepted');
  };

  it('accepts tokens of every trusted issuer; the service is the namespace', async () => {
    const va = await verifier.verify(a.issuer().mint({ namespace: 'p1-a', serviceAccount: 'default' }));
    expect(va).toMatchObject({ service: 'p1-a', serviceAccount: 'default', subject: 'system:serviceaccount:p1-a:default', issuer: a.url });
    const vb = await verifier.verify(b.issuer().mint({ namespace: 'p2-b', serviceAccount: 'api' }));
    expect(vb.service).toBe('p2-b');
  });

  it('accepts ES256 SA tokens of an EC-keyed issuer', async () => {
    const ec = await serveIssuer('ES256');
    try {
      const v = new JwksIssuerVerifier({ trustedIssuers: [{ issuer: ec.url, jwksUri: `${ec.url}/openid/v1/jwks` }] });
      expect((await v.verify(ec.issuer().mint({ namespace: 'p6-a', serviceAccount: 'default' }))).service).toBe('p6-a');
    } finally {
      await ec.app.close();
    }
  });

  it('refuses expired (beyond 5 s skew) and not-yet-valid tokens, accepts within the skew', async () => {
    const expired = await reject(a.issuer().mint({ namespace: 'p1-a', serviceAccount: 'default', ttlSeconds: 60, offsetSeconds: -70 }));
    expect([expired.oauthError, expired.reason]).toEqual(['invalid_grant', 'expired']);
    const justExpired = a.issuer().mint({ namespace: 'p1-a', serviceAccount: 'default', ttlSeconds: 60, offsetSeconds: -62 });
    expect((await verifier.verify(justExpired)).service).toBe('p1-a');
    const future = await reject(a.issuer().mint({ namespace: 'p1-a', serviceAccount: 'default', offsetSeconds: 60 }));
    expect([future.oauthError, future.reason]).toEqual(['invalid_grant', 'not_yet_valid']);
  });

  it('refuses another audience, an untrusted issuer and a forged payload', async () => {
    expect((await reject(a.issuer().signClaims({ ...claims(a.url), aud: ['kubernetes'] }))).reason).toBe('wrong_audience');
    // Same iss, another key (not in the issuer's JWKS).
    const impostor = createIdentityIssuer({ issuer: a.url });
    expect((await reject(impostor.mint({ namespace: 'p1-a', serviceAccount: 'default' }))).reason).toBe('unknown_kid');
    expect((await reject(untrusted.issuer().mint({ namespace: 'p1-a', serviceAccount: 'default' }))).reason).toBe('untrusted_issuer');
    const [h, , s] = a.issuer().mint({ namespace: 'p1-a', serviceAccount: 'default' }).split('.');
    const forged = `${h}.${b64({ ...claims(a.url), sub: 'system:serviceaccount:p9-a:default' })}.${s}`;
    expect((await reject(forged)).reason).toBe('invalid_signature');
  });

  it('refuses alg none, HMAC (key confusion) and alg/key mismatches', async () => {
    const kid = a.issuer().kid;
    const none = `${b64({ alg: 'none', kid })}.${b64(claims(a.url))}.`;
    expect((await reject(none)).reason).toBe('bad_alg');
    const pub = await (await fetch(`${a.url}/openid/v1/jwks`)).json();
    const hs = createSigner({ key: JSON.stringify(pub), algorithm: 'HS256', kid })(claims(a.url));
    expect((await reject(hs)).reason).toBe('bad_alg');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const es = createSigner({ key: ec, algorithm: 'ES256', kid })(claims(a.url));
    expect((await reject(es)).reason).toBe('bad_alg');
  });

  it('answers invalid_request for oversized and empty tokens, invalid_grant for garbage', async () => {
    const big = await reject(`${'a'.repeat(9000)}.b.c`);
    expect([big.oauthError, big.reason]).toEqual(['invalid_request', 'oversized']);
    expect((await reject('')).oauthError).toBe('invalid_request');
    for (const g of ['garbage', 'a.b.c', `${b64({ alg: 'RS256' })}.not-json.x`, `${b64([1])}.${b64(7)}.x`]) {
      expect((await reject(g)).oauthError).toBe('invalid_grant');
    }
    const noSub = signedLike(a.issuer(), { sub: 'alice', 'kubernetes.io': undefined });
    expect((await reject(noSub)).reason).toBe('bad_subject');
  });

  it('re-fetches the JWKS on an unknown kid (rate-limited), so a rotated issuer key is picked up', async () => {
    b.rotate();
    const token = b.issuer().mint({ namespace: 'p2-a', serviceAccount: 'default' });
    await new Promise((r) => setTimeout(r, 350));
    const before = fetches;
    expect((await verifier.verify(token)).service).toBe('p2-a');
    expect(fetches).toBe(before + 1);
    // Unknown kids in a burst cause at most one more fetch within the interval.
    const stranger = createIdentityIssuer({ issuer: b.url });
    await new Promise((r) => setTimeout(r, 350));
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => reject(stranger.mint({ namespace: 'p2-a', serviceAccount: 'default' }))),
    );
    expect(new Set(burst.map((e) => e.reason))).toEqual(new Set(['unknown_kid']));
    expect(fetches).toBe(before + 2);
  });

  it('caches verified tokens until exp, and forgets them when their key leaves the JWKS', async () => {
    const c = await serveIssuer();
    try {
      const v = new JwksIssuerVerifier({
        trustedIssuers: [{ issuer: c.url, jwksUri: `${c.url}/openid/v1/jwks` }],
        skewSeconds: 0,
        minRefetchIntervalMs: 0,
      });
      // exp lies 2–3 s ahead whatever the fraction of the current second: the first verify (which
      // fetches the JWKS) cannot meet it on a busy machine, and the wait below runs to just past it.
      const shortLived = c.issuer().mint({ namespace: 'p5-a', serviceAccount: 'default', ttlSeconds: 3 });
      const exp = decodeJwt(shortLived).exp!;
      expect((await v.verify(shortLived)).service).toBe('p5-a');
      expect((await v.verify(shortLived)).service).toBe('p5-a');
      await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
      expect(await v.verify(shortLived).catch((e: SubjectTokenError) => e.reason)).toBe('expired');

      const old = c.issuer().mint({ namespace: 'p5-a', serviceAccount: 'default' });
      await v.verify(old);
      c.rotate();
      await v.verify(c.issuer().mint({ namespace: 'p5-b', serviceAccount: 'default' }));
      expect(await v.verify(old).catch((e: SubjectTokenError) => e.reason)).toBe('unknown_kid');
    } finally {
      await c.app.close();
    }
  });

  it('reports an unreachable JWKS as temporarily_unavailable', async () => {
    const v = new JwksIssuerVerifier({ trustedIssuers: [{ issuer: a.url, jwksUri: 'http://127.0.0.1:1/jwks' }] });
    const err = await v.verify(a.issuer().mint({ namespace: 'p1-a', serviceAccount: 'default' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ oauthError: 'temporarily_unavailable', reason: 'jwks_unavailable' });
  });
});

function claims(iss: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss,
    sub: 'system:serviceaccount:p1-a:default',
    aud: ['authlab-idp'],
    iat: now,
    nbf: now,
    exp: now + 600,
    jti: 'x',
    'kubernetes.io': { namespace: 'p1-a', serviceaccount: { name: 'default', uid: 'u' }, pod: { name: 'p', uid: 'u' } },
  };
}

/** A token signed with `issuer`'s real key but with altered claims: only the claim checks can refuse it. */
function signedLike(issuer: IdentityIssuer, override: Record<string, unknown>): string {
  return issuer.signClaims({ ...claims(issuer.issuer), ...override });
}
