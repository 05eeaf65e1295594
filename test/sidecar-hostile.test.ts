/**
 * The hostile corpus (issue 3): every bad token gets 401 (403 for a valid token without the role)
 * with a stable code and no database work; every malformed request gets 400 (431 for an oversized
 * header) and no database work. Rows and database calls are counted before and after.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../system/sidecar/app.js';
import { generateSigningKey, startFixtureIdp, type FixtureIdp } from './support/fixture-idp.js';
import { startSidecar, waitFor, writeSaToken } from './support/sidecar-harness.js';
import { freePort, startTestPostgres, type TestPostgres } from './support/pg.js';
import { AuthlabError } from '../system/protocol/errors.js';
import { createServiceDatabase } from '../system/sidecar/db/database.js';

let pgServer: TestPostgres;
let idp: FixtureIdp;
let b: { sidecar: Sidecar; url: string };
let cleanup: () => Promise<void>;

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: idp.issuer,
  sub: 'p1-a',
  aud: ['p1-b'],
  iat: now(),
  exp: now() + 300,
  jti: randomUUID(),
  roles: { 'p1-b': ['read', 'write'] },
  rev: 1,
  ...extra,
});
const revokedJti = randomUUID();

/** P-256 group order: n − s is the other valid ECDSA signature for the same message. */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
function highS(token: string): string {
  const i = token.lastIndexOf('.');
  const sig = Buffer.from(token.slice(i + 1), 'base64url');
  const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  const twin = Buffer.concat([sig.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
  return `${token.slice(0, i)}.${twin.toString('base64url')}`;
}
/** The same signature bytes, another string: the last character's two unused bits flipped. */
function spareBits(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(token.at(-1)!);
  const other = `${token.slice(0, -1)}${alphabet[last ^ 1]}`;
  expect(Buffer.from(other.slice(other.lastIndexOf('.') + 1), 'base64url')).toEqual(
    Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url'),
  );
  return other;
}

interface TokenCase {
  name: string;
  authorization: () => string | undefined;
  status: number;
  code: string;
}

function tokenCorpus(): TokenCase[] {
  const valid = () => idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read', 'write'] } });
  const foreign = generateSigningKey('k1');
  const attacker = generateSigningKey('attacker');
  const publicPem = idp.key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const hs256 = (secret: string) => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${b64(claims())}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  return [
    { name: 'no token', authorization: () => undefined, status: 401, code: 'ERR_TOKEN_MISSING' },
    { name: 'Basic scheme', authorization: () => 'Basic dXNlcjpwYXNz', status: 401, code: 'ERR_TOKEN_MISSING' },
    { name: 'Bearer garbage', authorization: () => 'Bearer garbage', status: 401, code: 'ERR_TOKEN_MALFORMED' },
    { name: 'Bearer three garbage segments', authorization: () => 'Bearer a.b.c', status: 401, code: 'ERR_TOKEN_MALFORMED' },
    {
      name: 'alg none',
      authorization: () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`,
      status: 401,
      code: 'ERR_TOKEN_ALG',
    },
    {
      name: 'HS256 signed with the public key (PEM)',
      authorization: () => `Bearer ${hs256(publicPem)}`,
      status: 401,
      code: 'ERR_TOKEN_ALG',
    },
    {
      name: 'ES256 header, signature stripped',
      authorization: () => `Bearer ${valid().split('.').slice(0, 2).join('.')}.`,
      status: 401,
      code: 'ERR_TOKEN_MALFORMED',
    },
    {
      name: 'signed by a key not in the JWKS, same kid',
      authorization: () => `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, key: foreign })}`,
      status: 401,
      code: 'ERR_TOKEN_SIGNATURE',
    },
    {
      name: 'signed by a key not in the JWKS, its own kid',
      authorization: () => `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, key: attacker })}`,
      status: 401,
      code: 'ERR_TOKEN_UNKNOWN_KID',
    },
    {
      name: 'jku pointing at the attacker',
      authorization: () =>
        `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, key: attacker, header: { jku: 'http://127.0.0.1:9/evil/jwks' } })}`,
      status: 401,
      code: 'ERR_TOKEN_UNKNOWN_KID',
    },
    {
      name: 'jku elsewhere with the real kid',
      authorization: () =>
        `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, key: foreign, header: { jku: 'http://127.0.0.1:9/evil/jwks' } })}`,
      status: 401,
      code: 'ERR_TOKEN_SIGNATURE',
    },
    {
      name: 'tampered payload (write role added)',
      authorization: () => {
        const [h, , s] = idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read'] } }).split('.');
        return `Bearer ${h}.${b64(claims())}.${s}`;
      },
      status: 401,
      code: 'ERR_TOKEN_SIGNATURE',
    },
    {
      name: 'expired',
      authorization: () =>
        `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, iat: now() - 3600, exp: now() - 600 })}`,
      status: 401,
      code: 'ERR_TOKEN_EXPIRED',
    },
    {
      name: 'not yet valid',
      authorization: () => `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, nbf: now() + 600 })}`,
      status: 401,
      code: 'ERR_TOKEN_NOT_YET_VALID',
    },
    {
      name: 'wrong iss',
      authorization: () => `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, iss: 'https://evil.example' })}`,
      status: 401,
      code: 'ERR_TOKEN_ISSUER',
    },
    {
      name: "wrong aud (another pair's token)",
      authorization: () => `Bearer ${idp.mint({ sub: 'p2-a', aud: ['p2-b'], roles: { 'p2-b': ['read', 'write'] } })}`,
      status: 401,
      code: 'ERR_TOKEN_AUDIENCE',
    },
    {
      name: 'revoked jti',
      authorization: () => `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, jti: revokedJti })}`,
      status: 401,
      code: 'ERR_TOKEN_REVOKED',
    },
    // Issue 15, item 5: correctly signed, but not a token the IdP would issue, or not its one string.
    {
      name: 'exp in the year 3000',
      authorization: () => `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, exp: 32_503_680_000 })}`,
      status: 401,
      code: 'ERR_TOKEN_LIFETIME',
    },
    {
      name: 'lifetime an hour, IdP TTL 300 s',
      authorization: () => `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] }, ttlSeconds: 3600 })}`,
      status: 401,
      code: 'ERR_TOKEN_LIFETIME',
    },
    {
      name: 'high-S twin of a valid signature',
      authorization: () => `Bearer ${highS(idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] } }))}`,
      status: 401,
      code: 'ERR_TOKEN_SIGNATURE',
    },
    {
      name: 'signature with the spare base64url bits set',
      authorization: () => `Bearer ${spareBits(idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] } }))}`,
      status: 401,
      code: 'ERR_TOKEN_SIGNATURE',
    },
    {
      name: 'valid token without the role',
      authorization: () => `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read'] } })}`,
      status: 403,
      code: 'ERR_FORBIDDEN',
    },
  ];
}

interface RawCase {
  name: string;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const malformedCorpus: RawCase[] = [
  { name: 'body not JSON', body: '{"query": "write",', status: 400, code: 'ERR_BODY_NOT_JSON' },
  { name: 'empty body', body: '', status: 400, code: 'ERR_BODY_NOT_JSON' },
  { name: 'prototype poisoning', body: '{"query":"write","__proto__":{"admin":true}}', status: 400, code: 'ERR_BODY_NOT_JSON' },
  {
    name: 'not JSON content type',
    body: 'query=write',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'body is an array', body: '[{"query":"write"}]', status: 400, code: 'ERR_BAD_REQUEST' },
  { name: 'unknown query name', body: '{"query":"drop_tables"}', status: 400, code: 'ERR_UNKNOWN_QUERY' },
  { name: 'query missing', body: '{"params":{}}', status: 400, code: 'ERR_UNKNOWN_QUERY' },
  { name: 'raw SQL as extra field', body: '{"query":"write","sql":"DELETE FROM log"}', status: 400, code: 'ERR_BAD_REQUEST' },
  { name: 'id as string', body: '{"query":"light","params":{"id":"1"}}', status: 400, code: 'ERR_BAD_PARAMS' },
  { name: 'id out of range', body: '{"query":"light","params":{"id":10001}}', status: 400, code: 'ERR_BAD_PARAMS' },
  { name: 'n fractional', body: '{"query":"heavy","params":{"n":1.5}}', status: 400, code: 'ERR_BAD_PARAMS' },
  { name: 'n beyond HEAVY_N_MAX', body: '{"query":"heavy","params":{"n":99999999}}', status: 400, code: 'ERR_BAD_PARAMS' },
  { name: 'note not a string', body: '{"query":"write","params":{"note":5}}', status: 400, code: 'ERR_BAD_PARAMS' },
  {
    name: 'note too long',
    body: JSON.stringify({ query: 'write', params: { note: 'x'.repeat(201) } }),
    status: 400,
    code: 'ERR_BAD_PARAMS',
  },
  // PostgreSQL text cannot hold NUL: refused before the database, not a 503 from it (issue 15, item 4).
  { name: 'NUL in the note', body: '{"query":"write","params":{"note":"a\\u0000b"}}', status: 400, code: 'ERR_BAD_PARAMS' },
  { name: 'unknown parameter', body: '{"query":"write","params":{"note":"x","id":1}}', status: 400, code: 'ERR_BAD_PARAMS' },
  { name: 'params as array', body: '{"query":"write","params":[1]}', status: 400, code: 'ERR_BAD_PARAMS' },
  {
    name: 'oversized header',
    body: '{"query":"write"}',
    headers: { 'x-pad': 'a'.repeat(20_000) },
    status: 431,
    code: 'ERR_HEADER_TOO_LARGE',
  },
];

/** node:http so that nothing client-side refuses a hostile request; returns status, headers, parsed body. */
function send(
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: any; bytes: number }> {
  const u = new URL(path, b.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'POST',
        headers: { 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text), bytes: Buffer.byteLength(text) });
          } catch (err) {
            reject(new Error(`non-JSON answer ${res.statusCode}: ${text.slice(0, 200)}`, { cause: err }));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
/** Rows in `log` and database calls so far: both must stand still for a refused request. */
async function dbWork() {
  return { rows: await b.sidecar.db.countLog(), calls: await metric('db_query_duration_seconds_count') };
}
async function setVerifyMode(mode: 'enforce' | 'observe') {
  const snap = idp.publish((s) => (s.settings.services['p1-b'] = { verifyMode: mode }));
  await waitFor(`verify ${mode}`, () => b.sidecar.settings.current().revision === snap.revision);
}

beforeAll(async () => {
  pgServer = await startTestPostgres();
  idp = await startFixtureIdp();
  idp.register('sa-p1-b', 'p1-b', ['p1-a'], { 'p1-a': ['read'] });
  const sa = await writeSaToken('sa-p1-b');
  cleanup = sa.cleanup;
  const dbUrl = await pgServer.createDatabase('p1-b');
  // One peer that nothing listens on: /call validates its body before any signing or forwarding.
  b = await startSidecar({
    service: 'p1-b',
    pair: 1,
    databaseUrl: dbUrl,
    idpUrl: idp.url,
    saTokenPath: sa.path,
    peers: { 'p1-a': 'http://127.0.0.1:9' },
  });
  await waitFor('ready', async () => (await fetch(`${b.url}/readyz`)).status === 200);
  const snap = idp.publish((s) => s.revocations.jtis.push({ jti: revokedJti, exp: now() + 600 }));
  await waitFor('revocation applied', () => b.sidecar.settings.current().revision === snap.revision);
});

afterAll(async () => {
  await b?.sidecar.close();
  await idp?.close();
  await cleanup?.();
  await pgServer?.stop();
});

describe('hostile corpus, enforce mode', () => {
  it('a valid write token inserts a row (the corpus is measured against a working path)', async () => {
    const before = await dbWork();
    const token = idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['write'] } });
    const r = await send('/query', '{"query":"write","params":{"note":"ok"}}', {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    });
    expect(r.status).toBe(200);
    expect((await dbWork()).rows).toBe(before.rows + 1);
  });

  it('refuses every bad token with its code, WWW-Authenticate on 401s, and no database work', async () => {
    const jwksBefore = idp.counts.jwks;
    const before = await dbWork();
    for (const c of tokenCorpus()) {
      const auth = c.authorization();
      const r = await send('/query', '{"query":"write","params":{"note":"must not land"}}', {
        'content-type': 'application/json',
        ...(auth ? { authorization: auth } : {}),
      });
      expect({ case: c.name, status: r.status, code: r.json.error?.code }).toEqual({ case: c.name, status: c.status, code: c.code });
      expect(r.json.error.message.length, c.name).toBeGreaterThan(20);
      if (c.status === 401) expect(r.headers['www-authenticate'], c.name).toBe('Bearer error="invalid_token"');
      expect(r.headers['server-timing'], c.name).toMatch(/total;dur=\d+\.\d{3}$/);
    }
    expect(await dbWork()).toEqual(before);
    // Two unknown-kid tokens in the corpus (and any flood of them) cause at most one JWKS re-fetch.
    expect(idp.counts.jwks - jwksBefore).toBeLessThanOrEqual(1);
  });

  it('refuses every malformed request with 400/415/431 and no database work', async () => {
    const token = idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read', 'write'] } });
    const before = await dbWork();
    for (const c of malformedCorpus) {
      const r = await send('/query', c.body, {
        'content-type': c.contentType ?? 'application/json',
        authorization: `Bearer ${token}`,
        ...c.headers,
      });
      expect({ case: c.name, status: r.status, code: r.json.error?.code }).toEqual({ case: c.name, status: c.status, code: c.code });
      expect(r.json.error.message.length, c.name).toBeGreaterThan(10);
      expect(r.headers['server-timing'], c.name).toMatch(/total;dur=\d+\.\d{3}/);
    }
    expect(await dbWork()).toEqual(before);
    // The sidecar is still healthy after the corpus.
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
  });
});

describe('hostile corpus, observe mode', () => {
  it('serves every token case and counts each as observe_denied', async () => {
    await setVerifyMode('observe');
    const corpus = tokenCorpus();
    const before = await dbWork();
    const deniedBefore = await metric('auth_verified_total', { result: 'observe_denied' });
    for (const c of corpus) {
      const auth = c.authorization();
      const r = await send('/query', '{"query":"write","params":{"note":"observe"}}', {
        'content-type': 'application/json',
        ...(auth ? { authorization: auth } : {}),
      });
      expect({ case: c.name, status: r.status }).toEqual({ case: c.name, status: 200 });
    }
    expect((await dbWork()).rows).toBe(before.rows + corpus.length);
    expect((await metric('auth_verified_total', { result: 'observe_denied' })) - deniedBefore).toBe(corpus.length);
  });

  it('still refuses malformed requests in observe mode, with no database work', async () => {
    const before = await dbWork();
    for (const c of malformedCorpus) {
      const r = await send('/query', c.body, { 'content-type': c.contentType ?? 'application/json', ...c.headers });
      expect({ case: c.name, status: r.status }).toEqual({ case: c.name, status: c.status });
    }
    expect(await dbWork()).toEqual(before);
    await setVerifyMode('enforce');
  });
});

describe('deep and oversized input (issue 15, item 3)', () => {
  const nested = (depth: number) => '['.repeat(depth) + '1' + ']'.repeat(depth);
  const big = 'x'.repeat(60_000);
  const cases: RawCase[] = [
    { name: 'id nested 5,000 arrays deep', body: `{"query":"light","params":{"id":${nested(5000)}}}`, status: 400, code: 'ERR_BAD_PARAMS' },
    { name: 'params nested 5,000 arrays deep', body: `{"query":"light","params":${nested(5000)}}`, status: 400, code: 'ERR_BAD_PARAMS' },
    { name: 'query name nested', body: `{"query":${nested(5000)}}`, status: 400, code: 'ERR_UNKNOWN_QUERY' },
    { name: 'id a 60 KB string', body: JSON.stringify({ query: 'light', params: { id: big } }), status: 400, code: 'ERR_BAD_PARAMS' },
    { name: 'params a 60 KB string', body: JSON.stringify({ query: 'light', params: big }), status: 400, code: 'ERR_BAD_PARAMS' },
    { name: 'query name 60 KB', body: JSON.stringify({ query: big }), status: 400, code: 'ERR_UNKNOWN_QUERY' },
    { name: 'parameter name 60 KB', body: JSON.stringify({ query: 'light', params: { [big]: 1 } }), status: 400, code: 'ERR_BAD_PARAMS' },
    { name: 'top-level field 60 KB', body: JSON.stringify({ query: 'light', [big]: 1 }), status: 400, code: 'ERR_BAD_REQUEST' },
    { name: 'markup in a field name', body: '{"query":"light","<script>\\u0000":1}', status: 400, code: 'ERR_BAD_REQUEST' },
  ];

  it('answers 400 with a short excerpt on /query and /call, never a 500 and never the input echoed', async () => {
    const token = idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read', 'write'] } });
    const before = await dbWork();
    for (const path of ['/query', '/call/p1-a/query']) {
      for (const c of cases) {
        const r = await send(path, c.body, { 'content-type': 'application/json', authorization: `Bearer ${token}` });
        expect({ path, case: c.name, status: r.status, code: r.json.error?.code }).toEqual({
          path,
          case: c.name,
          status: c.status,
          code: c.code,
        });
        expect(r.bytes, `${path} ${c.name}`).toBeLessThan(512);
        expect(r.json.error.message, `${path} ${c.name}`).not.toMatch(/x{100}|<script>|\u0000/);
      }
    }
    expect(await dbWork()).toEqual(before);
  });

  it('keeps the echo of an unknown target or route short', async () => {
    const long = 'y'.repeat(8_000);
    const tooLong = await send(`/call/${long}/query`, '{"query":"light"}', { 'content-type': 'application/json' });
    expect([tooLong.status, tooLong.json.error.code]).toEqual([414, 'ERR_URL_TOO_LONG']);
    expect(tooLong.bytes).toBeLessThan(512);
    const unknown = await send(`/call/${'y'.repeat(99)}/query`, '{"query":"light"}', { 'content-type': 'application/json' });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'ERR_UNKNOWN_TARGET']);
    expect(unknown.json.error.message).not.toMatch(/y{40}/);
    const badEscape = await send(`/call/%zz${long}/query`, '{"query":"light"}', { 'content-type': 'application/json' });
    expect([badEscape.status, badEscape.json.error.code]).toEqual([400, 'ERR_BAD_REQUEST']);
    expect(badEscape.bytes).toBeLessThan(512);
    const route = await send(`/${long}`, '{}', { 'content-type': 'application/json' });
    expect(route.status).toBe(404);
    expect(route.bytes).toBeLessThan(512);
  });
});

describe('database errors stay in the sidecar (issue 15, item 4)', () => {
  it('a query the database refuses is ERR_DB_QUERY without PostgreSQL’s text, which goes to the log', async () => {
    const lines: string[] = [];
    const db = createServiceDatabase(pgServer.urlFor('p1-b'), 1, (m) => lines.push(m));
    try {
      // Bypasses validation on purpose: the database itself refuses NUL in text.
      const err = await db.run({ query: 'write', role: 'write', note: 'a\u0000b' }, 'p1-a').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthlabError);
      expect((err as AuthlabError).code).toBe('ERR_DB_QUERY');
      expect((err as AuthlabError).message).not.toMatch(/byte sequence|0x00|UTF8/);
      expect(lines.join('\n')).toMatch(/0x00/);
    } finally {
      await db.close();
    }
  });

  it('an unreachable database is ERR_DB_UNAVAILABLE (503) naming no address or errno', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const db = createServiceDatabase(`postgres://nobody:secret@127.0.0.1:${port}/nothing`, 1, (m) => lines.push(m));
    try {
      const err = (await db.run({ query: 'light', role: 'read', id: 1 }, null).catch((e: unknown) => e)) as AuthlabError;
      expect([err.code, err.status]).toEqual(['ERR_DB_UNAVAILABLE', 503]);
      expect(err.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|secret/);
      await db.run({ query: 'light', role: 'read', id: 1 }, null).catch(() => {});
      // The outage is logged once, not once per request.
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/ECONNREFUSED/);
    } finally {
      await db.close();
    }
  });
});

describe('one token, one way (issue 15, item 5)', () => {
  it('refuses two Authorization headers as ambiguous (400 invalid_request), whichever comes first, with no database work', async () => {
    const valid = `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read', 'write'] } })}`;
    const other = `Bearer ${idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read'] } })}`;
    const before = await dbWork();
    for (const pair of [
      [valid, 'Bearer garbage'],
      ['Bearer garbage', valid],
      [valid, other],
      [valid, valid],
    ]) {
      const r = await send('/query', '{"query":"write","params":{"note":"must not land"}}', {
        'content-type': 'application/json',
        authorization: pair as unknown as string,
      });
      expect([r.status, r.json.error?.code]).toEqual([400, 'ERR_TOKEN_AMBIGUOUS']);
      expect(r.headers['www-authenticate']).toBe('Bearer error="invalid_request"');
    }
    expect(await dbWork()).toEqual(before);
    // One header still works.
    const ok = await send('/query', '{"query":"light","params":{"id":1}}', { 'content-type': 'application/json', authorization: valid });
    expect(ok.status).toBe(200);
  });

  it('a token for the year 3000 is refused even though its signature and claims verify', async () => {
    const token = idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read'] }, iat: now(), exp: 32_503_680_000 });
    const r = await send('/query', '{"query":"light","params":{"id":1}}', {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    });
    expect([r.status, r.json.error?.code]).toEqual([401, 'ERR_TOKEN_LIFETIME']);
    // Within the IdP's TTL plus the 10 s skew is fine.
    const edge = idp.mint({ sub: 'p1-a', aud: ['p1-b'], roles: { 'p1-b': ['read'] }, ttlSeconds: 305 });
    const ok = await send('/query', '{"query":"light","params":{"id":1}}', {
      'content-type': 'application/json',
      authorization: `Bearer ${edge}`,
    });
    expect(ok.status).toBe(200);
  });
});
