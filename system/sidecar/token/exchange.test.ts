import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureIdp, type FixtureIdp } from '../../../test/support/fixture-idp.js';
import { writeSaToken } from '../../../test/support/sidecar-harness.js';
import { freePort } from '../../../test/support/pg.js';
import { TokenFetchError } from './backoff.js';
import { createExchangeFetch, saTokenFileReader } from './exchange.js';
import { createTokenSource } from './token-source.js';

let idp: FixtureIdp;
let sa: { path: string; cleanup(): Promise<void> };

beforeAll(async () => {
  idp = await startFixtureIdp({ tokenTtlSeconds: 120 });
  idp.register('sa-one', 'svc-one', ['svc-two'], { 'svc-two': ['read'] });
  idp.register('sa-two', 'svc-two', ['svc-one'], { 'svc-one': ['read'] });
  sa = await writeSaToken('sa-one');
});
afterAll(async () => {
  await idp.close();
  await sa.cleanup();
});

const fetcher = () => createExchangeFetch({ tokenEndpoint: `${idp.url}/v1/token`, getSubjectToken: saTokenFileReader(sa.path) });

describe('token exchange fetch (real HTTP)', () => {
  it('exchanges the SA token and takes iat/exp from the JWT', async () => {
    const t = await fetcher()();
    const claims = JSON.parse(Buffer.from(t.accessToken.split('.')[1]!, 'base64url').toString());
    expect(claims.sub).toBe('svc-one');
    expect(t.issuedAt).toBe(claims.iat * 1000);
    expect(t.expiresAt - t.issuedAt).toBe(120_000);
  });

  it('reads the SA token file on every exchange (the kubelet rewrites it)', async () => {
    await writeFile(sa.path, 'sa-two\n');
    const t = await fetcher()();
    expect(JSON.parse(Buffer.from(t.accessToken.split('.')[1]!, 'base64url').toString()).sub).toBe('svc-two');
    await writeFile(sa.path, 'sa-one');
  });

  it('classifies failures: 429 + Retry-After → throttled, 400 → client, 500 → server, refused → network', async () => {
    idp.failTokens(1, 429, 7);
    await expect(fetcher()()).rejects.toMatchObject({ errorClass: 'throttled', idpStatus: 429, retryAfterMs: 7000 });
    idp.failTokens(1, 400);
    await expect(fetcher()()).rejects.toMatchObject({
      errorClass: 'client',
      idpStatus: 400,
      message: expect.stringContaining('invalid_grant'),
    });
    idp.failTokens(1, 500);
    await expect(fetcher()()).rejects.toMatchObject({ errorClass: 'server', idpStatus: 500 });
    const port = await freePort();
    const dead = createExchangeFetch({ tokenEndpoint: `http://127.0.0.1:${port}/v1/token`, getSubjectToken: () => 'x' });
    await expect(dead()).rejects.toBeInstanceOf(TokenFetchError);
    await expect(dead()).rejects.toMatchObject({ errorClass: 'network' });
    const noFile = createExchangeFetch({ tokenEndpoint: `${idp.url}/v1/token`, getSubjectToken: saTokenFileReader('/nonexistent/token') });
    await expect(noFile()).rejects.toMatchObject({ errorClass: 'client' });
  });

  it('a token source over the real exchange recovers after 503s without the caller seeing them twice', async () => {
    idp.failTokens(2, 503, 0);
    const ts = createTokenSource({
      fetchToken: fetcher(),
      backoff: { transient: { baseMs: 10, capMs: 50 }, client: { baseMs: 1000, capMs: 1000 } },
    });
    ts.start();
    const end = Date.now() + 5000;
    while (!ts.current() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(ts.current()).not.toBeNull();
    ts.stop();
  });
});
