import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyStore } from './jwks.js';

let server: Server | undefined;
afterEach(() => server?.close());

async function key(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const sign = () => new SignJWT({ sub: 'p1-a' }).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
  return { jwk, sign };
}

describe('the sidecar key store', () => {
  it('re-fetches at once when a verified token shows a rotation, so the next rotation finds its key; a forged kid does not', async () => {
    const [a, b, c] = await Promise.all([key('a'), key('b'), key('c')]);
    let published = [a.jwk, b.jwk]; // current a, next b
    server = createServer((_req, res) => res.end(JSON.stringify({ keys: published })));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const store = createKeyStore({
      jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
      minRefetchIntervalMs: 60_000,
    });
    await store.refresh();
    expect(store.get('a')!(await a.sign())).toMatchObject({ sub: 'p1-a' });
    expect(store.fetches()).toBe(1);

    // Rotation: b signs now, c is the new next. A token with b's kid but a's signature is refused and fetches nothing.
    published = [a.jwk, b.jwk, c.jwk];
    const forged = (await a.sign()).replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'b' })).toString('base64url'));
    expect(() => store.get('b')!(forged)).toThrow();
    expect(store.fetches()).toBe(1);
    store.get('b')!(await b.sign());
    await new Promise((r) => setTimeout(r, 100));
    expect(store.fetches()).toBe(2);
    // The second rotation (c signs) is verified without meeting the unknown-kid rate limit (60 s here).
    expect(store.get('c')).toBeDefined();
    expect(store.get('c')!(await c.sign())).toMatchObject({ sub: 'p1-a' });
  });
});
