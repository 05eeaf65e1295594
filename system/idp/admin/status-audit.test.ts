import type { FastifyInstance } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPostgres, type TestPostgres } from '../../../test/support/pg.js';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../protocol/claims.js';
import { createIdentityIssuer, type IdentityIssuer } from '../../identity/issuer.js';
import { buildIdentityServer } from '../../identity/server.js';
import { buildIdp, type Idp } from '../app.js';

// Issue 16 live status: GET /admin/status `tokens` (last token issued per subject) and
// GET /admin/audit paged by cursor, against a real permissions store in PostgreSQL.
const ADMIN = 'status-audit-admin-token-0123';

let pg: TestPostgres;
let idServer: FastifyInstance;
let issuer: IdentityIssuer;
let idp: Idp;
let clock = Date.parse('2026-01-01T00:00:00Z');

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
    tokenTtlSeconds: 120,
    tokenLedgerCap: 3,
    now: () => clock,
  });
}, 60_000);

afterAll(async () => {
  await idp?.close();
  await idServer?.close();
  await pg?.stop();
});

const admin = (method: 'GET' | 'PUT', url: string, payload?: object) =>
  idp.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN}` }, ...(payload ? { payload } : {}) });

async function exchange(ns: string): Promise<string> {
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: issuer.mint({ namespace: ns, serviceAccount: 'default' }),
    subject_token_type: JWT_TOKEN_TYPE,
  });
  const res = await idp.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form.toString(),
  });
  expect(res.statusCode).toBe(200);
  return res.json().access_token as string;
}

interface StatusToken {
  subject: string;
  service: string;
  issuedAt: string;
  expiresAt: string;
  jti: string;
  kid: string;
}

describe('GET /admin/status tokens', () => {
  it('reports per subject the last token issued: when, its exp, jti and kid; a refresh replaces the entry', async () => {
    const before = (await admin('GET', '/admin/status')).json();
    expect(before).toMatchObject({ tokens: [], tokensTracked: 0, tokenTtlSeconds: 120, now: new Date(clock).toISOString() });
    // The old fields stay as they were (the contract is extended, not changed).
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['revision', 'refreshEpoch', 'connectedSidecars', 'keys']));

    const a1 = await exchange('p1-a');
    clock += 1500;
    const b1 = await exchange('p1-b');
    clock += 1500;
    const a2 = await exchange('p1-a');
    const s = (await admin('GET', '/admin/status')).json() as { tokens: StatusToken[]; tokensTracked: number };
    expect(s.tokensTracked).toBe(2);
    const [newest, older] = s.tokens;
    expect(s.tokens).toHaveLength(2);
    for (const [entry, jwt, at] of [
      [newest!, a2, clock],
      [older!, b1, clock - 1500],
    ] as const) {
      const claims = decodeJwt(jwt);
      expect(entry).toEqual({
        subject: `system:serviceaccount:${claims.sub}:default`,
        service: claims.sub,
        issuedAt: new Date(at).toISOString(),
        expiresAt: new Date(claims.exp! * 1000).toISOString(),
        jti: claims.jti,
        kid: decodeProtectedHeader(jwt).kid,
      });
    }
    expect(newest!.jti).not.toBe(decodeJwt(a1).jti);

    const one = (await admin('GET', '/admin/status?tokens=1')).json() as { tokens: StatusToken[]; tokensTracked: number };
    expect([one.tokens.map((t) => t.service), one.tokensTracked]).toEqual([['p1-a'], 2]);
  });

  it('keeps at most its cap of subjects, dropping the one refreshed longest ago', async () => {
    for (const ns of ['p2-a', 'p2-b']) {
      clock += 1000;
      await exchange(ns);
    }
    const s = (await admin('GET', '/admin/status')).json() as { tokens: StatusToken[]; tokensTracked: number };
    expect(s.tokensTracked).toBe(3);
    expect(s.tokens.map((t) => t.service)).toEqual(['p2-b', 'p2-a', 'p1-a']);
  });

  it('refuses a bad tokens parameter with 400 ERR_BAD_REQUEST', async () => {
    for (const q of ['tokens=-1', 'tokens=abc', 'tokens=10001', 'token=5']) {
      const res = await admin('GET', `/admin/status?${q}`);
      expect([q, res.statusCode, res.json().error.code]).toEqual([q, 400, 'ERR_BAD_REQUEST']);
    }
  });
});

describe('GET /admin/audit paging', () => {
  interface Page {
    revision: number;
    entries: { id: number; what: string; revision: number }[];
    nextBefore: number | null;
  }

  it('walks the whole log page by page with nextBefore, newest first, without gaps or repeats', async () => {
    for (let i = 0; i < 45; i++) {
      expect((await admin('PUT', '/admin/groups', { group: `group:paging-${i}`, members: ['p1-a'] })).statusCode).toBe(200);
    }
    const all = (await admin('GET', '/admin/audit?limit=1000')).json() as Page;
    expect(all.nextBefore).toBeNull();
    expect(all.entries.length).toBeGreaterThanOrEqual(45);
    expect(all.entries[0]!.revision).toBe(all.revision);

    const seen: number[] = [];
    let before: number | null | undefined;
    let pages = 0;
    do {
      const page = (await admin('GET', `/admin/audit?limit=20${before ? `&before=${before}` : ''}`)).json() as Page;
      pages++;
      expect(page.entries.length).toBeLessThanOrEqual(20);
      if (page.nextBefore !== null) expect(page.nextBefore).toBe(page.entries.at(-1)!.id);
      seen.push(...page.entries.map((e) => e.id));
      before = page.nextBefore;
    } while (before !== null);
    expect(pages).toBe(Math.ceil(all.entries.length / 20));
    expect(seen).toEqual(all.entries.map((e) => e.id));

    // A full last page says there is nothing older only when nothing older exists.
    const exact = (await admin('GET', `/admin/audit?limit=${all.entries.length}`)).json() as Page;
    expect(exact.nextBefore).toBeNull();
    const short = (await admin('GET', `/admin/audit?limit=${all.entries.length - 1}`)).json() as Page;
    expect(short.nextBefore).toBe(all.entries.at(-2)!.id);
    // A cursor past the oldest entry is an empty page, not an error.
    const end = (await admin('GET', `/admin/audit?before=${all.entries.at(-1)!.id}`)).json() as Page;
    expect([end.entries, end.nextBefore]).toEqual([[], null]);
  });

  it('caps limit at 1000 and refuses bad cursors and limits with 400 ERR_BAD_REQUEST, changing nothing', async () => {
    expect((await admin('GET', '/admin/audit?limit=1000')).statusCode).toBe(200);
    const revision = idp.store.state.revision;
    for (const q of [
      'limit=1001',
      'limit=0',
      'limit=1e3',
      'limit=',
      'limit=5&limit=6',
      'before=0',
      'before=-1',
      'before=abc',
      'before=1.5',
      'before=99999999999999999999',
      'befor=5',
    ]) {
      const res = await admin('GET', `/admin/audit?${q}`);
      const body = res.json();
      expect([q, res.statusCode, body.error?.code]).toEqual([q, 400, 'ERR_BAD_REQUEST']);
      expect(body.error.message).toMatch(/limit|before|unknown query parameter/);
    }
    expect(idp.store.state.revision).toBe(revision);
  });
});

describe('POST /admin/keys/retire', () => {
  const post = (url: string, payload: object) =>
    idp.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${ADMIN}` }, payload });

  it('retires a previous key once no service holds a token it signed; refuses current, next, unknown and malformed', async () => {
    const old = decodeProtectedHeader(await exchange('p3-a')).kid!;
    expect((await post('/admin/keys/rotate', {})).statusCode).toBe(200);
    const st = (await admin('GET', '/admin/status')).json() as {
      keys: { previous: string[]; current: string; next: string };
      tokens: StatusToken[];
    };
    expect(st.keys.previous).toContain(old);
    expect((await post('/admin/keys/retire', { kid: st.keys.current })).statusCode).toBe(409);
    expect((await post('/admin/keys/retire', { kid: st.keys.next })).statusCode).toBe(409);
    expect((await post('/admin/keys/retire', { kid: 'no-such-kid' })).statusCode).toBe(404);
    expect((await post('/admin/keys/retire', { key: old })).statusCode).toBe(400);
    const busy = await post('/admin/keys/retire', { kid: old });
    expect(busy.statusCode).toBe(409);
    expect(busy.json().error.message).toMatch(/still hold a token signed by .*refresh-tokens first/);
    // Every service holding a token the old key signed gets a new one (signed by the new current key).
    for (const t of st.tokens.filter((x) => x.kid === old)) await exchange(t.service);
    const done = await post('/admin/keys/retire', { kid: old });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json().keys).toMatchObject({ retired: old });
    const jwks = (await idp.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).not.toContain(old);
    const audit = (await admin('GET', '/admin/audit?limit=1')).json() as { entries: { what: string }[] };
    expect(audit.entries[0]!.what).toBe('keys.retire');
  });
});
