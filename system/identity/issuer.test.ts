import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createIdentityIssuer } from './issuer.js';
import { buildIdentityServer } from './server.js';

describe('identity issuer', () => {
  const issuer = createIdentityIssuer({ issuer: 'https://kubernetes.default.svc.cluster.local', ttlSeconds: 600 });

  it('mints RS256 tokens with the exact Kubernetes projected-token claims, verifiable with its JWKS', async () => {
    const token = issuer.mint({ namespace: 'p1-a', serviceAccount: 'default', podName: 'p1-a-0' });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(issuer.jwks()), {
      issuer: 'https://kubernetes.default.svc.cluster.local',
      audience: 'authlab-idp',
      algorithms: ['RS256'],
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: issuer.kid });
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub']);
    expect(payload).toMatchObject({
      sub: 'system:serviceaccount:p1-a:default',
      aud: ['authlab-idp'],
      'kubernetes.io': { namespace: 'p1-a', serviceaccount: { name: 'default' }, pod: { name: 'p1-a-0' } },
    });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(payload.nbf).toBe(payload.iat);
    // Same service account → same uid across tokens; jti unique.
    const again = issuer.mint({ namespace: 'p1-a', serviceAccount: 'default', podName: 'p1-a-0' });
    const p2 = JSON.parse(Buffer.from(again.split('.')[1]!, 'base64url').toString());
    expect(p2['kubernetes.io'].serviceaccount.uid).toBe(
      (payload['kubernetes.io'] as { serviceaccount: { uid: string } }).serviceaccount.uid,
    );
    expect(p2.jti).not.toBe(payload.jti);
  });

  it('uses the RFC 7638 thumbprint as kid', async () => {
    const jwk = issuer.jwks().keys[0]!;
    expect(jwk.kid).toBe(await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n!, e: jwk.e! }));
    expect(decodeProtectedHeader(issuer.mint({ namespace: 'x', serviceAccount: 'y' })).kid).toBe(jwk.kid);
  });

  it('mints a storm of distinct, verifiable tokens (its speed is printed by npm run bench:idp)', async () => {
    const jwks = createLocalJWKSet(issuer.jwks());
    const tokens = Array.from({ length: 200 }, (_, i) => issuer.mint({ namespace: `s${i}`, serviceAccount: 'default' }));
    const payloads = await Promise.all(tokens.map(async (t) => (await jwtVerify(t, jwks, { audience: 'authlab-idp' })).payload));
    expect(new Set(payloads.map((p) => p.jti)).size).toBe(200);
    expect(payloads.map((p) => p.sub)).toEqual(tokens.map((_, i) => `system:serviceaccount:s${i}:default`));
  });

  it('can sign ES256 (EC signing key), with the EC thumbprint as kid', async () => {
    const ec = createIdentityIssuer({ issuer: 'https://ec.example', algorithm: 'ES256' });
    const jwk = ec.jwks().keys[0]!;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(jwk.kid).toBe(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! }));
    const { payload, protectedHeader } = await jwtVerify(
      ec.mint({ namespace: 's1', serviceAccount: 'default' }),
      createLocalJWKSet(ec.jwks()),
      { audience: 'authlab-idp', algorithms: ['ES256'] },
    );
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: jwk.kid });
    expect(payload.sub).toBe('system:serviceaccount:s1:default');
  });

  it('serves discovery and JWKS like a kube-apiserver', async () => {
    const app = buildIdentityServer({ issuer });
    try {
      const d = (await app.inject('/.well-known/openid-configuration')).json();
      expect(d).toMatchObject({
        issuer: issuer.issuer,
        jwks_uri: `${issuer.issuer}/openid/v1/jwks`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
      const j = await app.inject('/openid/v1/jwks');
      expect(j.headers['content-type']).toMatch(/jwk-set\+json/);
      expect(j.json().keys.map((k: { kid: string }) => k.kid)).toEqual([issuer.kid]);
    } finally {
      await app.close();
    }
  });
});
