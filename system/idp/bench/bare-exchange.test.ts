import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnListening, type ListeningChild } from '../../../runner/platforms/local/child.js';
import { createIdentityIssuer, type IdentityIssuer } from '../../identity/issuer.js';
import { buildIdentityServer } from '../../identity/server.js';

/**
 * bench:idp divides the IdP's rate by this server's: it is only a fair ceiling if it does the crypto it
 * claims (verifies the SA token, signs an access token), so a forged token must not pass it.
 */
describe('bench:idp Node ceiling (bare-exchange.ts)', () => {
  let issuer: IdentityIssuer | undefined;
  const identity = buildIdentityServer({ issuer: () => issuer! });
  let bare: ListeningChild | undefined;
  let url: string;

  beforeAll(async () => {
    const identityUrl = await identity.listen({ host: '127.0.0.1', port: 0 });
    issuer = createIdentityIssuer({ issuer: identityUrl, ttlSeconds: 600 });
    bare = await spawnListening(fileURLToPath(new URL('./bare-exchange.ts', import.meta.url)), {
      JWKS_URL: `${identityUrl}/openid/v1/jwks`,
      VERIFY: '1',
    });
    url = bare.url;
  });
  afterAll(async () => {
    await bare?.stop();
    await identity.close();
  });

  const exchange = (token: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ subject_token: token }),
    });

  it('answers a valid SA token with a signed ES256 access token naming its subject', async () => {
    const res = await exchange(issuer!.mint({ namespace: 'p1-a', serviceAccount: 'default' }));
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const [h, p, s] = access_token.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toMatchObject({ alg: 'ES256' });
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toMatchObject({ sub: 'system:serviceaccount:p1-a:default' });
    expect(Buffer.from(s!, 'base64url')).toHaveLength(64);
  });

  it('refuses an SA token whose signature does not verify', async () => {
    const [h, p, s] = issuer!.mint({ namespace: 'p1-a', serviceAccount: 'default' }).split('.');
    const flipped = `${s!.slice(0, 10)}${s![10] === 'A' ? 'B' : 'A'}${s!.slice(11)}`;
    const res = await exchange(`${h}.${p}.${flipped}`);
    expect(res.status).toBe(400);
  });
});
