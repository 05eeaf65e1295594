import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIdp, type Idp } from '../system/idp/app.js';
import { ADMIN_UI_CSP } from '../system/idp/admin-ui/routes.js';
import { startTestPostgres, type TestPostgres } from './support/pg.js';

// The admin UI's server side over app.inject, with a real permissions store: session, CSRF, CSP,
// and the gateway to the admin API (same validation, audit actor "admin-ui").
const ADMIN = 'admin-ui-test-token-0123456789';
let pg: TestPostgres;
let idp: Idp;
let clock = Date.now();

beforeAll(async () => {
  pg = await startTestPostgres();
  idp = await buildIdp({
    databaseUrl: pg.url,
    adminToken: ADMIN,
    issuer: 'http://idp.test',
    trustedIssuers: [{ issuer: 'http://issuer.test', jwksUri: 'http://127.0.0.1:9/jwks' }],
    now: () => clock,
  });
  await idp.app.ready();
}, 60_000);

afterAll(async () => {
  await idp?.close();
  await pg?.stop();
});

const HOST = 'idp.test';
async function signIn(token = ADMIN) {
  const res = await idp.app.inject({
    method: 'POST',
    url: '/admin/ui/session',
    headers: { host: HOST, origin: `http://${HOST}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ token }),
  });
  const cookie = (res.headers['set-cookie'] as string | undefined)?.split(';')[0] ?? '';
  return { res, cookie, csrf: res.statusCode === 200 ? (res.json() as { csrf: string }).csrf : '' };
}
const ui = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, headers: Record<string, string>, body?: unknown) =>
  idp.app.inject({
    method,
    url: `/admin/ui/api/${path}`,
    headers: { host: HOST, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });

describe('admin UI server side', () => {
  it('serves the page with a strict CSP, no inline script, and the bundled code from the same origin', async () => {
    const page = await idp.app.inject({ method: 'GET', url: '/admin/ui' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toBe(ADMIN_UI_CSP);
    expect(ADMIN_UI_CSP).toContain("script-src 'self'");
    expect(ADMIN_UI_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).toContain('<script type="module" src="/admin/ui/app.js"></script>');
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.body).not.toMatch(/\son[a-z]+=|style=/);
    const js = await idp.app.inject({ method: 'GET', url: '/admin/ui/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.body).toContain('/admin/ui/session');
    expect(js.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  }, 30_000);

  it('refuses a wrong admin token and gives an HttpOnly, SameSite=Strict session for the right one', async () => {
    const wrong = await signIn('not-the-admin-token');
    expect(wrong.res.statusCode).toBe(401);
    expect(wrong.res.headers['set-cookie']).toBeUndefined();
    expect((wrong.res.json() as { error: { code: string } }).error.code).toBe('ERR_ADMIN_UNAUTHORIZED');

    const ok = await signIn();
    expect(ok.res.statusCode).toBe(200);
    const setCookie = ok.res.headers['set-cookie'] as string;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/admin\/ui/);
    expect(ok.csrf.length).toBeGreaterThan(30);
    const me = await idp.app.inject({ method: 'GET', url: '/admin/ui/session', headers: { cookie: ok.cookie } });
    expect(me.json()).toMatchObject({ signedIn: true, csrf: ok.csrf });
  });

  it('changes go through the admin API, land in the audit log as admin-ui, and API errors come back verbatim', async () => {
    const { cookie, csrf } = await signIn();
    const put = await ui(
      'PUT',
      'grants',
      { cookie, 'x-csrf-token': csrf, origin: `http://${HOST}` },
      { caller: 'p1-a', target: 'p2-b', roles: ['read'] },
    );
    expect(put.statusCode).toBe(200);
    const { revision } = put.json() as { revision: number };
    const audit = await ui('GET', 'audit?limit=1', { cookie });
    expect((audit.json() as { entries: { who: string; what: string; revision: number }[] }).entries[0]).toMatchObject({
      who: 'admin-ui',
      what: 'grant.put',
      revision,
    });

    const bad = await ui('PUT', 'grants', { cookie, 'x-csrf-token': csrf }, { caller: 'P1_A', target: 'p2-b', roles: ['read'] });
    const direct = await idp.app.inject({
      method: 'PUT',
      url: '/admin/grants',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ caller: 'P1_A', target: 'p2-b', roles: ['read'] }),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toBe(direct.body);
  });

  it('pages the audit log through the gateway with the API’s cursor, and passes its 400s on verbatim', async () => {
    const { cookie, csrf } = await signIn();
    for (const target of ['p3-a', 'p3-b', 'p4-a']) {
      const put = await ui('PUT', 'grants', { cookie, 'x-csrf-token': csrf }, { caller: 'p1-a', target, roles: ['read'] });
      expect(put.statusCode).toBe(200);
    }
    type Page = { entries: { id: number; after: { target?: string } }[]; nextBefore: number | null };
    const first = (await ui('GET', 'audit?limit=2', { cookie })).json() as Page;
    expect(first.entries.map((e) => e.after.target)).toEqual(['p4-a', 'p3-b']);
    expect(first.nextBefore).toBe(first.entries[1]!.id);
    const second = (await ui('GET', `audit?limit=2&before=${first.nextBefore}`, { cookie })).json() as Page;
    expect(second.entries[0]!.after.target).toBe('p3-a');
    const bad = await ui('GET', 'audit?before=yesterday', { cookie });
    expect([bad.statusCode, (bad.json() as { error: { code: string; message: string } }).error]).toEqual([
      400,
      { code: 'ERR_BAD_REQUEST', message: expect.stringMatching(/^before must be an integer/) },
    ]);
  });

  it('refuses a change without the CSRF token, from another origin, as a form post, or without a session', async () => {
    const { cookie, csrf } = await signIn();
    const grant = { caller: 'p1-a', target: 'p2-a', roles: ['read'] };
    const before = (await ui('GET', 'status', { cookie })).json() as { revision: number };
    const noCsrf = await ui('PUT', 'grants', { cookie }, grant);
    const wrongCsrf = await ui('PUT', 'grants', { cookie, 'x-csrf-token': 'x'.repeat(43) }, grant);
    const crossOrigin = await ui('PUT', 'grants', { cookie, 'x-csrf-token': csrf, origin: 'http://evil.test' }, grant);
    const form = await idp.app.inject({
      method: 'POST',
      url: '/admin/ui/api/refresh-tokens',
      headers: { host: HOST, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'service=p1-a',
    });
    const noSession = await ui('PUT', 'grants', { 'x-csrf-token': csrf }, grant);
    expect([noCsrf.statusCode, wrongCsrf.statusCode, crossOrigin.statusCode, form.statusCode, noSession.statusCode]).toEqual([
      403, 403, 403, 415, 401,
    ]);
    const after = (await ui('GET', 'status', { cookie })).json() as { revision: number };
    expect(after.revision).toBe(before.revision);
  });

  it('does not let a caller of the admin API claim to be the UI, and offers only the admin calls it uses', async () => {
    const res = await idp.app.inject({
      method: 'POST',
      url: '/admin/refresh-tokens',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'x-authlab-via': 'admin-ui' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(200);
    const audit = await idp.app.inject({ method: 'GET', url: '/admin/audit?limit=1', headers: { authorization: `Bearer ${ADMIN}` } });
    expect((audit.json() as { entries: { who: string }[] }).entries[0]!.who).toBe('admin');
    const { cookie } = await signIn();
    expect((await ui('GET', '../metrics', { cookie })).statusCode).toBe(404);
    expect((await ui('GET', 'nothing', { cookie })).statusCode).toBe(404);
  });

  it('signs out, and a session ends after 15 idle minutes', async () => {
    const a = await signIn();
    const out = await idp.app.inject({ method: 'DELETE', url: '/admin/ui/session', headers: { cookie: a.cookie, 'x-csrf-token': a.csrf } });
    expect(out.statusCode).toBe(204);
    expect(out.headers['set-cookie']).toMatch(/Max-Age=0/);
    expect((await ui('GET', 'status', { cookie: a.cookie })).statusCode).toBe(401);

    const b = await signIn();
    clock += 14 * 60_000;
    expect((await ui('GET', 'status', { cookie: b.cookie })).statusCode).toBe(200);
    clock += 14 * 60_000;
    expect((await ui('GET', 'status', { cookie: b.cookie })).statusCode).toBe(200);
    clock += 16 * 60_000;
    expect((await ui('GET', 'status', { cookie: b.cookie })).statusCode).toBe(401);
  });

  it('reports token exchanges by result from /metrics', async () => {
    const { cookie } = await signIn();
    const res = await idp.app.inject({ method: 'GET', url: '/admin/ui/api/metrics', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toHaveProperty('tokenResults');
  });
});
