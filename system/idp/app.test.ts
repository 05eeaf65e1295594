import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../protocol/claims.js';
import { startTestPostgres, type TestPostgres } from '../../test/support/pg.js';
import { createIdentityIssuer, type IdentityIssuer } from '../identity/issuer.js';
import { buildIdentityServer } from '../identity/server.js';
import { buildIdp, type Idp } from './app.js';

const ADMIN = 'unit-admin-token-abcdefghij';

describe('IdP token endpoint and admin API (real PostgreSQL, HTTP via inject)', () => {
  let pg: TestPostgres;
  let idServer: FastifyInstance;
  let issuer: IdentityIssuer;
  let idp: Idp;

  beforeAll(async () => {
    pg = await startTestPostgres();
    idServer = buildIdentityServer({ issuer: () => issuer });
    const url = await idServer.listen({ host: '127.0.0.1', port: 0 });
    issuer = createIdentityIssuer({ issuer: url });
    idp = await buildIdp({
      issuer: 'http://idp.test',
      databaseUrl: pg.url,
      adminToken: ADMIN,
      trustedIssuers: [{ issuer: url, jwksUri: `${url}/openid/v1/jwks` }],
      initialSettings: { global: { signMode: 'on', verifyMode: 'observe', tokenTtlSeconds: 60 } },
    });
  });
  afterAll(async () => {
    await idp?.close();
    await idServer?.close();
    await pg?.stop();
  });

  const sa = (ns: string) => issuer.mint({ namespace: ns, serviceAccount: 'default' });
  const token = (payload: string, contentType = 'application/x-www-form-urlencoded') =>
    idp.app.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': contentType }, payload });
  const form = (o: Record<string, string | string[]>) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) for (const x of [v].flat()) p.append(k, x);
    return p.toString();
  };
  const good = (ns = 'p1-a') => ({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: sa(ns), subject_token_type: JWT_TOKEN_TYPE });
  const admin = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown, auth = `Bearer ${ADMIN}`) =>
    idp.app.inject({ method, url, headers: { authorization: auth }, ...(payload === undefined ? {} : { payload: payload as object }) });
  const revision = () => idp.store.state.revision;

  /** Malformed token requests: name, form body, the RFC error expected. */
  const malformed = (): [string, string, string][] => [
    ['no body', '', 'invalid_request'],
    ['missing grant_type', form({ subject_token: sa('p1-a'), subject_token_type: JWT_TOKEN_TYPE }), 'invalid_request'],
    ['unknown grant_type', form({ ...good(), grant_type: 'client_credentials' }), 'unsupported_grant_type'],
    ['repeated grant_type', form({ ...good(), grant_type: [TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_GRANT] }), 'invalid_request'],
    ['missing subject_token', form({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token_type: JWT_TOKEN_TYPE }), 'invalid_request'],
    ['wrong subject_token_type', form({ ...good(), subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }), 'invalid_request'],
    ['wrong requested_token_type', form({ ...good(), requested_token_type: 'urn:x' }), 'invalid_request'],
    ['garbage subject_token', form({ ...good(), subject_token: 'garbage' }), 'invalid_grant'],
    ['oversized subject_token', form({ ...good(), subject_token: 'x'.repeat(9000) }), 'invalid_request'],
    [
      'expired subject_token',
      form({
        ...good(),
        subject_token: issuer.mint({ namespace: 'p1-a', serviceAccount: 'default', ttlSeconds: 10, offsetSeconds: -60 }),
      }),
      'invalid_grant',
    ],
    ['broken form encoding', 'grant_type=%E0%A4%A&subject_token', 'invalid_request'],
  ];

  it('turns every malformed token request into a 400 RFC error and no token', async () => {
    const cases = malformed();
    for (const [name, payload, error] of cases) {
      const res = await token(payload);
      expect({ name, status: res.statusCode, error: res.json().error }).toEqual({ name, status: 400, error });
      expect(res.json().error_description, name).toMatch(/\w+/);
      expect(res.json().access_token, name).toBeUndefined();
    }
  });

  it('refuses other content types with invalid_request (400), an oversized body with 413 invalid_request, never a 500', async () => {
    for (const [payload, type] of [
      [JSON.stringify(good()), 'application/json'],
      ['{bad json', 'application/json'],
      ['hello', 'text/plain'],
      [form(good()), 'multipart/form-data; boundary=x'],
    ]) {
      const res = await token(payload!, type!);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe('invalid_request');
    }
    const huge = await token(form({ ...good(), pad: 'x'.repeat(70_000) }));
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toBe('invalid_request');
    expect(huge.json().access_token).toBeUndefined();
  });

  it('answers a plain form POST over a socket (its fast path) as fastify answers it in-process', async () => {
    const url = await idp.listen();
    const post = (payload: string, contentType = 'application/x-www-form-urlencoded') =>
      fetch(`${url}/oauth2/token`, { method: 'POST', headers: { 'content-type': contentType }, body: payload });
    for (const [name, payload] of malformed()) {
      const [viaFastify, viaSocket] = [await token(payload), await post(payload)];
      expect({ name, status: viaSocket.status, body: await viaSocket.json(), cache: viaSocket.headers.get('cache-control') }).toEqual({
        name,
        status: viaFastify.statusCode,
        body: viaFastify.json(),
        cache: viaFastify.headers['cache-control'],
      });
    }
    // Issued: the same fields and headers (the token itself differs: its jti, maybe its iat).
    const viaFastify = await token(form(good()));
    const headersOf = (h: Iterable<[string, string]>) => Object.fromEntries([...h].filter(([k]) => k !== 'date' && k !== 'content-length'));
    for (const type of ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8']) {
      const viaSocket = await post(form(good()), type);
      expect(viaSocket.status).toBe(200);
      const body = (await viaSocket.json()) as Record<string, unknown>;
      expect({ ...body, access_token: 'x' }).toEqual({ ...viaFastify.json(), access_token: 'x' });
      const { jti: _a, iat: _b, exp: _c, ...claims } = decodeJwt(body.access_token as string);
      const { jti: _d, iat: _e, exp: _f, ...expected } = decodeJwt(viaFastify.json().access_token);
      expect(claims).toEqual(expected);
      expect(headersOf(viaSocket.headers)).toEqual({
        ...headersOf(Object.entries(viaFastify.headers as Record<string, string>)),
        connection: 'keep-alive',
        'keep-alive': 'timeout=72',
      });
    }
  });

  it('scopes aud and roles to grants, expands groups, narrows by audience, rejects ungranted audiences', async () => {
    expect((await admin('PUT', '/admin/grants', { caller: 'p1-a', target: 'p1-b', roles: ['read', 'write'] })).statusCode).toBe(200);
    const g = await admin('PUT', '/admin/groups', { group: 'readers', members: ['p1-a', 'p3-a'] });
    expect(g.json().group).toEqual({ group: 'group:readers', members: ['p1-a', 'p3-a'] });
    expect((await admin('PUT', '/admin/grants', { caller: 'group:readers', target: 'p2-b', roles: ['read'] })).statusCode).toBe(200);

    const all = decodeJwt((await token(form(good('p1-a')))).json().access_token);
    expect(all).toMatchObject({
      iss: 'http://idp.test',
      sub: 'p1-a',
      roles: { 'p1-b': ['read', 'write'], 'p2-b': ['read'] },
      rev: revision(),
    });
    expect([...(all.aud as string[])].sort()).toEqual(['p1-b', 'p2-b']);
    expect(all.exp! - all.iat!).toBe(60);

    const narrowed = decodeJwt((await token(form({ ...good('p1-a'), audience: 'p2-b' }))).json().access_token);
    expect(narrowed).toMatchObject({ aud: ['p2-b'], roles: { 'p2-b': ['read'] } });
    expect(decodeJwt((await token(form(good('p3-a')))).json().access_token).roles).toEqual({ 'p2-b': ['read'] });

    const res = await token(form({ ...good('p1-a'), audience: ['p2-b', 'p4-b'] }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_target', error_description: expect.stringContaining('p4-b') });

    // Deleting the group removes its grants too: p3-a no longer reaches p2-b.
    const del = await admin('DELETE', '/admin/groups', { group: 'group:readers' });
    expect(del.json().deletedGrants).toHaveLength(1);
    expect(decodeJwt((await token(form(good('p3-a')))).json().access_token).aud).toEqual([]);
  });

  it('admin validation errors are 400 ERR_BAD_REQUEST with a hint, and change nothing', async () => {
    const rev = revision();
    const audit = (await idp.store.audit(1))[0]!.id;
    const bad: [string, string, unknown][] = [
      ['PUT', '/admin/grants', { caller: 'p1-a', target: 'p1-b', roles: ['admin'] }],
      ['PUT', '/admin/grants', { caller: 'p1-a', target: 'p1-b', roles: [] }],
      ['PUT', '/admin/grants', { caller: 'P1 A', target: 'p1-b', roles: ['read'] }],
      ['PUT', '/admin/grants', { caller: 'p1-a', target: 'p1-b', roles: ['read'], extra: 1 }],
      ['PUT', '/admin/grants', [1, 2]],
      ['PUT', '/admin/settings', { global: { verifyMode: 'strict' } }],
      ['PUT', '/admin/settings', { global: { tokenTtlSeconds: 5 } }],
      ['PUT', '/admin/settings', { global: { tokenTtlSeconds: 100.5 } }],
      ['PUT', '/admin/settings', { services: { 'p1-a': { signMode: 'maybe' } } }],
      ['POST', '/admin/revocations', {}],
      ['POST', '/admin/revocations', { jti: 'a', subject: 'p1-a' }],
      ['POST', '/admin/revocations', { subject: 'p1-a', issuedBefore: 'yesterday' }],
      ['POST', '/admin/refresh-tokens', { service: 7 }],
      ['PUT', '/admin/groups', { group: 'g', members: 'p1-a' }],
      ['GET', '/admin/audit?limit=0', undefined],
    ];
    for (const [method, url, payload] of bad) {
      const res = await admin(method as 'PUT', url, payload);
      expect({ url, payload, status: res.statusCode, code: res.json().error?.code }).toEqual({
        url,
        payload,
        status: 400,
        code: 'ERR_BAD_REQUEST',
      });
      expect(res.json().error.message.length).toBeGreaterThan(10);
    }
    const notJson = await idp.app.inject({
      method: 'PUT',
      url: '/admin/grants',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/plain' },
      payload: 'caller=p1-a',
    });
    expect([notJson.statusCode, notJson.json().error.code]).toEqual([400, 'ERR_BAD_REQUEST']);
    const missing = await admin('DELETE', '/admin/grants', { caller: 'p9-a', target: 'p9-b' });
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'ERR_NOT_FOUND']);
    expect(revision()).toBe(rev);
    expect((await idp.store.audit(1))[0]!.id).toBe(audit);
  });

  it('concurrent settings changes reach the stream in increasing revision order and leave the newest state (issue 15, item 6)', async () => {
    const seen: number[] = [];
    const off = idp.store.onChange((st) => seen.push(st.revision));
    try {
      const modes = ['off', 'observe', 'enforce'] as const;
      const answers = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          admin('PUT', '/admin/settings', { services: { [`p${(i % 4) + 1}-b`]: { verifyMode: modes[i % 3] } } }),
        ),
      );
      const revisions = answers.map((r) => r.json().revision as number);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
      expect(idp.store.state.revision).toBe(Math.max(...revisions));
    } finally {
      off();
    }
  });

  it('settings merge, refresh epochs and revocations each bump the revision and reach the snapshot', async () => {
    const r0 = revision();
    const s = await admin('PUT', '/admin/settings', { global: { tokenTtlSeconds: 90 }, services: { 'p1-b': { verifyMode: 'enforce' } } });
    expect(s.json()).toMatchObject({
      revision: r0 + 1,
      global: { signMode: 'on', verifyMode: 'observe', tokenTtlSeconds: 90 },
      services: { 'p1-b': { verifyMode: 'enforce' } },
    });
    const s2 = await admin('PUT', '/admin/settings', { services: { 'p1-b': { signMode: 'off' } } });
    expect(s2.json().services['p1-b']).toEqual({ verifyMode: 'enforce', signMode: 'off' });
    expect((await token(form(good()))).json().expires_in).toBe(90);

    expect((await admin('POST', '/admin/refresh-tokens')).json()).toMatchObject({ revision: r0 + 3, epoch: 1 });
    expect((await admin('POST', '/admin/refresh-tokens', { service: 'p1-a' })).json()).toMatchObject({
      revision: r0 + 4,
      service: 'p1-a',
      epoch: 1,
    });
    // Before minting: a second boundary between the mint and a later Date.now() made this flaky under load.
    const mintedAt = Math.floor(Date.now() / 1000);
    const jti = decodeJwt((await token(form(good()))).json().access_token).jti!;
    const rv = await admin('POST', '/admin/revocations', { jti });
    expect(rv.json().revision).toBe(r0 + 5);
    const now = Math.floor(Date.now() / 1000);
    await admin('POST', '/admin/revocations', { subject: 'p1-a', issuedBefore: now });
    const st = idp.store.state;
    expect(st.revokedJtis.map((r) => r.jti)).toContain(jti);
    expect(st.revokedJtis.find((r) => r.jti === jti)!.exp).toBeGreaterThanOrEqual(mintedAt + 90);
    expect(st.revokedSubjects).toEqual([{ subject: 'p1-a', issuedBefore: now, expiresAt: expect.any(Number) }]);
    const audit = (await admin('GET', '/admin/audit?limit=3')).json().entries;
    expect(audit.map((e: { what: string }) => e.what)).toEqual(['revocation.subject', 'revocation.jti', 'refresh-tokens']);
    const status = (await admin('GET', '/admin/status')).json();
    expect(status).toMatchObject({ revision: r0 + 6, refreshEpoch: 1, connectedSidecars: [] });
  });

  it('answers unknown routes with a JSON 404 and pings settings streams', async () => {
    const nf = await idp.app.inject('/nope');
    expect([nf.statusCode, nf.json().error.code]).toEqual([404, 'ERR_NOT_FOUND']);
    const pinging = await buildIdp({
      issuer: 'http://idp.test',
      databaseUrl: pg.url,
      adminToken: ADMIN,
      pingIntervalMs: 100,
      verifier: { verify: async () => ({ service: 'p7-a', serviceAccount: 'default', subject: 's', issuer: 'i', expiresAt: 0 }) },
    });
    try {
      const url = await pinging.listen();
      const ac = new AbortController();
      const res = await fetch(`${url}/v1/settings/stream`, { headers: { authorization: 'Bearer any' }, signal: ac.signal });
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes(': ping')) text += Buffer.from((await reader.read()).value!).toString();
      expect(text.startsWith('event: snapshot\ndata: {')).toBe(true);
      ac.abort();
    } finally {
      await pinging.close();
    }
  });

  it('postgresStats: /metrics reports its own database (size, idp_* tables, connections) as service idp; off by default', async () => {
    expect((await idp.app.inject('/metrics')).body).not.toMatch(/^authlab_pg_/m);
    const withStats = await buildIdp({
      issuer: 'http://idp.test',
      databaseUrl: pg.url,
      adminToken: ADMIN,
      postgresStats: true,
      verifier: { verify: async () => ({ service: 'p1-a', serviceAccount: 'default', subject: 's', issuer: 'i', expiresAt: 0 }) },
    });
    try {
      const text = (await withStats.app.inject('/metrics')).body;
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? -1);
      expect(value(/^authlab_pg_database_bytes\{service="idp",database="[^"]+"\} (\d+)$/m)).toBeGreaterThan(1_000_000);
      expect(value(/^authlab_pg_table_bytes\{service="idp",database="[^"]+",table="public\.idp_grants"\} (\d+)$/m)).toBeGreaterThan(0);
      expect(value(/^authlab_pg_connections\{service="idp",database="[^"]+",state="idle"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    } finally {
      await withStats.close();
    }
  });

  it('keeps its state and signing keys across a restart on the same database', async () => {
    const kid = idp.keys.currentKid;
    const rev = revision();
    const again = await buildIdp({
      issuer: 'http://idp.test',
      databaseUrl: pg.url,
      adminToken: ADMIN,
      verifier: { verify: async () => ({ service: 'p1-a', serviceAccount: 'default', subject: 's', issuer: 'i', expiresAt: 0 }) },
    });
    try {
      expect(again.keys.currentKid).toBe(kid);
      expect(again.store.state.revision).toBe(rev);
      expect(again.store.state.settings.global.tokenTtlSeconds).toBe(90);
    } finally {
      await again.close();
    }
  });

  it('rotates keys on its timer, audited as "timer", keeping the old key published', async () => {
    const rotating = await buildIdp({
      issuer: 'http://idp.test',
      databaseUrl: pg.url,
      adminToken: ADMIN,
      keyRotationIntervalSeconds: 1,
      verifier: { verify: async () => ({ service: 'p7-a', serviceAccount: 'default', subject: 's', issuer: 'i', expiresAt: 0 }) },
    });
    try {
      const [cur, next] = [rotating.keys.currentKid, rotating.keys.nextKid];
      await new Promise((r) => setTimeout(r, 1400));
      expect(rotating.keys.currentKid).toBe(next);
      expect(rotating.keys.previousKids).toContain(cur);
      const entry = (await rotating.store.audit(1))[0]!;
      expect(entry).toMatchObject({ who: 'timer', what: 'keys.rotate', after: { current: next } });
    } finally {
      await rotating.close();
    }
  });
});
