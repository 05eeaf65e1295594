/**
 * End to end against the REAL components, each its own process via its main.ts: embedded
 * PostgreSQL, the identity issuer (SA token files), the IdP, and two sidecars. p1-a calls p1-b
 * through /call/p1-b/query in enforce mode and gets rows; isolation, revocation and refresh are
 * driven through the IdP's admin API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/sidecar-harness.js';
import { createExchangeFetch, saTokenFileReader } from '../system/sidecar/token/exchange.js';
import type { Component } from '../runner/platforms/local/child.js';
import { startComponent } from './support/components.js';
import { startTestPostgres, type TestPostgres } from './support/pg.js';

const ADMIN = 'e2e-admin-token-0123456789abcdef';
const LOCAL = 'e2e-local-admin';
let pgServer: TestPostgres;
let dir: string;
const children: Component[] = [];
const startMain = async (component: 'identity' | 'idp' | 'sidecar', name: string, config: unknown) => {
  const c = await startComponent(component, name, config, dir);
  children.push(c);
  return c.url;
};
let idpUrl = '';
let aUrl = '';
let bUrl = '';
let dbA = '';
let dbB = '';

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${idpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return res.json() as Promise<{ revision: number }>;
}
async function status(url: string) {
  return (await (await fetch(`${url}/local/status`, { headers: { authorization: `Bearer ${LOCAL}` } })).json()) as {
    revision: number;
    token: { iat: number } | null;
  };
}
async function call(from: string, target: string, body: unknown) {
  const res = await fetch(`${from}/call/${target}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}
async function logRows(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM log')).rows[0]!.n;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  pgServer = await startTestPostgres();
  dir = await mkdtemp(join(tmpdir(), 'authlab-e2e-'));
  const su = new pg.Client({ connectionString: pgServer.url });
  await su.connect();
  await su.query('CREATE DATABASE idp');
  await su.end();
  dbA = await pgServer.createDatabase('p1-a');
  dbB = await pgServer.createDatabase('p1-b');
  const tokenDir = join(dir, 'tokens');
  const identityUrl = await startMain('identity', 'identity', {
    tokenDir,
    services: [
      { namespace: 'p1-a', serviceAccount: 'default' },
      { namespace: 'p1-b', serviceAccount: 'default' },
    ],
  });
  idpUrl = await startMain('idp', 'idp', {
    databaseUrl: pgServer.urlFor('idp'),
    adminToken: ADMIN,
    trustedIssuers: [{ issuer: identityUrl, jwksUri: `${identityUrl}/openid/v1/jwks` }],
    tokenTtlSeconds: 300,
  });
  await admin('PUT', '/admin/grants', { caller: 'p1-a', target: 'p1-b', roles: ['read', 'write'] });
  await admin('PUT', '/admin/grants', { caller: 'p1-b', target: 'p1-a', roles: ['read'] });
  bUrl = await startMain('sidecar', 'p1-b', {
    service: 'p1-b',
    pair: 1,
    databaseUrl: dbB,
    idpUrl,
    saTokenPath: join(tokenDir, 'p1-b', 'token'),
    peers: {},
    localAdminToken: LOCAL,
  });
  aUrl = await startMain('sidecar', 'p1-a', {
    service: 'p1-a',
    pair: 1,
    databaseUrl: dbA,
    idpUrl,
    saTokenPath: join(tokenDir, 'p1-a', 'token'),
    peers: { 'p1-b': bUrl },
    localAdminToken: LOCAL,
  });
  await waitFor('sidecars ready', async () => (await fetch(`${aUrl}/readyz`)).ok && (await fetch(`${bUrl}/readyz`)).ok, 30_000);
}, 120_000);

afterAll(async () => {
  // Sidecars first, then the IdP, then the identity issuer: each exits 0 on SIGTERM.
  for (const child of [...children].reverse()) await child.stop(10_000);
  await pgServer?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('sidecars against the real IdP and identity issuer', () => {
  it('p1-a calls p1-b through /call in enforce mode and gets rows', async () => {
    const r = await call(aUrl, 'p1-b', { query: 'light', params: { id: 5 } });
    expect(r.status).toBe(200);
    expect(r.json.rows[0].id).toBe(5);
    const before = await logRows(dbB);
    const w = await call(aUrl, 'p1-b', { query: 'write', params: { note: 'e2e' } });
    expect(w.status).toBe(200);
    expect(await logRows(dbB)).toBe(before + 1);
  });

  it("p1-b's real token reads p1-a but cannot write it (read-only grant): 403, no row", async () => {
    const disc = (await (await fetch(`${idpUrl}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    const exchange = createExchangeFetch({
      tokenEndpoint: disc.token_endpoint,
      getSubjectToken: saTokenFileReader(join(dir, 'tokens', 'p1-b', 'token')),
    });
    const { accessToken } = await exchange();
    const h = { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` };
    const before = await logRows(dbA);
    const w = await fetch(`${aUrl}/query`, { method: 'POST', headers: h, body: '{"query":"write","params":{"note":"must not land"}}' });
    expect(w.status).toBe(403);
    expect(((await w.json()) as any).error.code).toBe('ERR_FORBIDDEN');
    expect(await logRows(dbA)).toBe(before);
    const r = await fetch(`${aUrl}/query`, { method: 'POST', headers: h, body: '{"query":"light","params":{"id":9}}' });
    expect(r.status).toBe(200);
    // The same token is not valid at p1-b itself (its audience is p1-a).
    const self = await fetch(`${bUrl}/query`, { method: 'POST', headers: h, body: '{"query":"light"}' });
    expect(self.status).toBe(401);
  });

  it('an admin subject revocation stops p1-a at once; a refresh-tokens restores it', async () => {
    const issuedBefore = Math.floor(Date.now() / 1000) + 1;
    const { revision } = await admin('POST', '/admin/revocations', { subject: 'p1-a', issuedBefore });
    await waitFor('b applied revocation', async () => (await status(bUrl)).revision >= revision);
    const denied = await call(aUrl, 'p1-b', { query: 'light', params: { id: 1 } });
    expect(denied.status).toBe(401);
    expect(denied.json.error.code).toBe('ERR_TOKEN_REVOKED');
    await waitFor('a second boundary', async () => Math.floor(Date.now() / 1000) >= issuedBefore, 3000);
    const refreshed = await admin('POST', '/admin/refresh-tokens', { service: 'p1-a' });
    await waitFor('a applied refresh', async () => (await status(aUrl)).revision >= refreshed.revision);
    await waitFor('a holds a fresh token', async () => ((await status(aUrl)).token?.iat ?? 0) >= issuedBefore, 10_000);
    const ok = await call(aUrl, 'p1-b', { query: 'light', params: { id: 1 } });
    expect(ok.status).toBe(200);
  });

  it('keeps serving across a signing-key rotation (tokens from the new key verify)', async () => {
    const rotated = (await admin('POST', '/admin/keys/rotate')) as unknown as { keys: { current: string } };
    const disc = (await (await fetch(`${idpUrl}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    const exchange = createExchangeFetch({
      tokenEndpoint: disc.token_endpoint,
      getSubjectToken: saTokenFileReader(join(dir, 'tokens', 'p1-a', 'token')),
    });
    const { accessToken } = await exchange();
    const kid = (JSON.parse(Buffer.from(accessToken.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    expect(kid).toBe(rotated.keys.current);
    const r = await fetch(`${bUrl}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: '{"query":"light","params":{"id":4}}',
    });
    expect(r.status).toBe(200);
    // And the sidecar's own token, refreshed on request, keeps the call path working.
    const refreshed = await admin('POST', '/admin/refresh-tokens', { service: 'p1-a' });
    await waitFor('a applied refresh', async () => (await status(aUrl)).revision >= refreshed.revision);
    expect((await call(aUrl, 'p1-b', { query: 'light', params: { id: 4 } })).status).toBe(200);
  });

  it('settings from the admin API reach the sidecar (verify off on p1-b serves without a token)', async () => {
    const { revision } = await admin('PUT', '/admin/settings', { services: { 'p1-b': { verifyMode: 'off' } } });
    await waitFor('b applied', async () => (await status(bUrl)).revision >= revision);
    const r = await fetch(`${bUrl}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"light","params":{"id":2}}',
    });
    expect(r.status).toBe(200);
    const back = await admin('PUT', '/admin/settings', { services: { 'p1-b': { verifyMode: 'enforce' } } });
    await waitFor('b back', async () => (await status(bUrl)).revision >= back.revision);
    const denied = await fetch(`${bUrl}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"light"}',
    });
    expect(denied.status).toBe(401);
  });
});
