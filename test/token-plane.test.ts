/**
 * The IdP's Go token plane (system/idp/token-plane.ts, dataplane/cmd/tokenplane): a real IdP on a real
 * PostgreSQL with a real identity issuer, its token plane a real Go process. What a client sees through
 * the token plane must be what it sees from the IdP itself: the same tokens (verified by jose against the
 * IdP's JWKS), the same refusals byte for byte, admin changes in force as soon as they are answered, and
 * the IdP's metrics and token ledger counting what the token plane issued.
 */
import type { FastifyInstance } from 'fastify';
import { generateKeyPairSync, sign } from 'node:crypto';
import { connect } from 'node:net';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../system/protocol/claims.js';
import { createIdentityIssuer, type IdentityIssuer } from '../system/identity/issuer.js';
import { buildIdentityServer } from '../system/identity/server.js';
import { buildIdp, type Idp } from '../system/idp/app.js';
import { buildGoProgram } from '../system/sidecar/data-plane.js';
import { startTestPostgres, type TestPostgres } from './support/pg.js';

const ADMIN = 'token-plane-admin-token-0123456789';
const built = await buildGoProgram('tokenplane');
if (built.binary === null) throw new Error(`the token plane did not build: ${built.reason}`);
const binary = built.binary;

/** A second trusted issuer whose tokens the test writes byte by byte (repeated keys, escapes, odd headers). */
const CRAFT_ISSUER = 'https://crafted.test';
const craftKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const craftJwk = { ...craftKey.publicKey.export({ format: 'jwk' }), kid: 'crafted-1', use: 'sig', alg: 'RS256' };
/** An RS256 token of the crafted issuer from its header and claims as raw JSON text. */
function crafted(headerJson: string, claimsJson: string): string {
  const input = `${Buffer.from(headerJson).toString('base64url')}.${Buffer.from(claimsJson).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), craftKey.privateKey).toString('base64url')}`;
}

/** P-256's order: a low-s signature has s ≤ n / 2. */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

describe('the IdP with its Go token plane', () => {
  let pg: TestPostgres;
  let idServer: FastifyInstance;
  let issuer: IdentityIssuer;
  let idp: Idp;
  let nodeUrl: string;
  let planeUrl: string;
  const logs: string[] = [];

  beforeAll(async () => {
    pg = await startTestPostgres();
    idServer = buildIdentityServer({ issuer: () => issuer });
    const url = await idServer.listen({ host: '127.0.0.1', port: 0 });
    issuer = createIdentityIssuer({ issuer: url });
    idp = await buildIdp({
      databaseUrl: pg.url,
      adminToken: ADMIN,
      trustedIssuers: [
        { issuer: url, jwksUri: `${url}/openid/v1/jwks` },
        { issuer: CRAFT_ISSUER, jwksUri: 'the inline JWKS of the crafted issuer', jwks: { keys: [craftJwk] } },
      ],
      tokenTtlSeconds: 120,
      tokenPlane: { binary },
      log: (m) => logs.push(m),
    });
    nodeUrl = await idp.listen();
    planeUrl = idp.tokenPlane()!.url;
    for (const [caller, target, roles] of [
      ['p1-a', 'p1-b', ['read', 'write']],
      ['p1-a', 'p2-b', ['read']],
      ['p2-a', 'p2-b', ['read']],
    ] as const) {
      expect((await admin('PUT', '/admin/grants', { caller, target, roles })).status).toBe(200);
    }
  }, 120_000);
  afterAll(async () => {
    await idp?.close();
    await idServer?.close();
    await pg?.stop();
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${nodeUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const sa = (ns: string, extra: { ttlSeconds?: number; offsetSeconds?: number } = {}) =>
    issuer.mint({ namespace: ns, serviceAccount: 'default', ...extra });
  const form = (o: Record<string, string | string[]>) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) for (const x of [v].flat()) p.append(k, x);
    return p.toString();
  };
  const good = (ns = 'p1-a') => ({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: sa(ns), subject_token_type: JWT_TOKEN_TYPE });
  const exchange = async (base: string, body: string, contentType = 'application/x-www-form-urlencoded') => {
    const res = await fetch(`${base}/oauth2/token`, { method: 'POST', headers: { 'content-type': contentType }, body });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const jwks = async () => createLocalJWKSet((await (await fetch(`${nodeUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
  const verified = async (accessToken: string) => (await jwtVerify(accessToken, await jwks(), { algorithms: ['ES256'] })).payload;
  const counts = async () => {
    await idp.tokenPlane()!.read();
    return idp.tokenPlane()!.counts();
  };

  it('is the token endpoint discovery names, on its own port', async () => {
    const d = (await (await fetch(`${nodeUrl}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(d.token_endpoint).toBe(`${planeUrl}/oauth2/token`);
    expect(d.issuer).toBe(nodeUrl);
    expect(planeUrl).not.toBe(nodeUrl);
    const health = (await (await fetch(`${nodeUrl}/healthz`)).json()) as { ok: boolean; tokenPlane: { running: boolean; pid: number } };
    expect(health.ok).toBe(true);
    expect(health.tokenPlane).toMatchObject({ url: planeUrl, running: true, restarts: 0 });
    expect(health.tokenPlane.pid).toBeGreaterThan(0);
  });

  it('issues the tokens the IdP issues, itself, with low-s signatures the IdP JWKS verifies', async () => {
    const before = await counts();
    for (const audience of [undefined, ['p2-b'], ['p1-b', 'p2-b']]) {
      const body = form({ ...good(), ...(audience ? { audience } : {}) });
      const [go, node] = [await exchange(planeUrl, body), await exchange(nodeUrl, body)];
      expect(go.status, go.text).toBe(200);
      expect(node.status, node.text).toBe(200);
      for (const h of ['content-type', 'cache-control', 'pragma']) expect(go.headers.get(h), h).toBe(node.headers.get(h));
      const [g, n] = [JSON.parse(go.text), JSON.parse(node.text)];
      expect({ ...g, access_token: 'x' }).toEqual({ ...n, access_token: 'x' });
      const [gc, nc] = [await verified(g.access_token), await verified(n.access_token)];
      const same = (c: JWTPayload) => ({ ...c, jti: undefined, iat: undefined, exp: undefined, ttl: c.exp! - c.iat! });
      expect(same(gc)).toEqual(same(nc));
      expect(gc.jti).not.toBe(nc.jti);
      expect(gc.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(decodeProtectedHeader(g.access_token)).toEqual(decodeProtectedHeader(n.access_token));
    }
    // Half of all raw signatures have a high s: forty tokens would all be low by chance with p = 1e-12.
    for (let i = 0; i < 40; i++) {
      const res = await exchange(planeUrl, form(good('p2-a')));
      const s = BigInt(`0x${Buffer.from(JSON.parse(res.text).access_token.split('.')[2], 'base64url').subarray(32).toString('hex')}`);
      expect(s <= P256_N / 2n).toBe(true);
    }
    const after = await counts();
    expect(after.issued - before.issued).toBe(43);
    expect(after.forwarded - before.forwarded).toBe(0);
  });

  it('refuses exactly as the IdP does: every refusal is the IdP’s own answer, relayed', async () => {
    const before = await counts();
    const expired = sa('p1-a', { ttlSeconds: 10, offsetSeconds: -60 });
    const foreign = createIdentityIssuer({ issuer: 'http://other-cluster.test' }).mint({ namespace: 'p1-a', serviceAccount: 'default' });
    const [h, p] = sa('p1-a').split('.');
    const cases: [string, string, string?][] = [
      ['no body', ''],
      ['unknown grant_type', form({ ...good(), grant_type: 'client_credentials' })],
      ['repeated grant_type', form({ ...good(), grant_type: [TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_GRANT] })],
      ['missing subject_token', form({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token_type: JWT_TOKEN_TYPE })],
      ['wrong subject_token_type', form({ ...good(), subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' })],
      ['wrong requested_token_type', form({ ...good(), requested_token_type: 'urn:x' })],
      ['garbage subject_token', form({ ...good(), subject_token: 'garbage' })],
      ['oversized subject_token', form({ ...good(), subject_token: 'x'.repeat(9000) })],
      ['expired subject_token', form({ ...good(), subject_token: expired })],
      ['untrusted issuer', form({ ...good(), subject_token: foreign })],
      ['forged signature', form({ ...good(), subject_token: `${h}.${p}.${'A'.repeat(342)}` })],
      ['audience without a grant', form({ ...good(), audience: 'p9-b' })],
      ['empty audience', form({ ...good(), audience: '' })],
      ['caller without grants, audience asked', form({ ...good('p7-a'), audience: 'p1-b' })],
      ['broken form encoding', 'grant_type=%E0%A4%A&subject_token'],
      ['JSON instead of a form', JSON.stringify(good()), 'application/json'],
      ['form type with a charset', form(good()), 'application/x-www-form-urlencoded; charset=utf-8'],
    ];
    let refused = 0;
    for (const [name, body, type] of cases) {
      const [go, node] = [await exchange(planeUrl, body, type), await exchange(nodeUrl, body, type)];
      if (node.status === 200) {
        // Issued by the IdP either way (two tokens, each its own).
        expect({ name, status: go.status }).toEqual({ name, status: 200 });
        continue;
      }
      expect({ name, status: go.status, body: go.text }).toEqual({ name, status: node.status, body: node.text });
      for (const hdr of ['content-type', 'cache-control', 'retry-after'])
        expect(go.headers.get(hdr), `${name}: ${hdr}`).toBe(node.headers.get(hdr));
      if (node.status !== 200) refused++;
    }
    expect(refused).toBe(cases.length - 1); // a form with a charset is a good request, which the IdP answers
    const after = await counts();
    expect(after.forwarded - before.forwarded).toBe(cases.length);
    expect(after.issued - before.issued).toBe(0);
  });

  it('refuses a body over the IdP’s 64 KiB as the IdP does, on its own, and the IdP counts it', async () => {
    // Headers only: both servers refuse on the Content-Length before reading a body, so no byte of one
    // is in flight when they close (a client sending a large body races that close).
    const oversized = (base: string, length: number) =>
      new Promise<{ status: number; head: string; body: string }>((resolve, reject) => {
        const u = new URL(base);
        const socket = connect(Number(u.port), u.hostname);
        let data = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => {
          data += chunk;
          const end = data.indexOf('\r\n\r\n');
          const length = /\r\ncontent-length: *(\d+)/i.exec(data.slice(0, end));
          if (end >= 0 && length && data.length >= end + 4 + Number(length[1])) {
            socket.destroy();
            resolve({ status: Number(data.slice(9, 12)), head: data.slice(0, end).toLowerCase(), body: data.slice(end + 4) });
          }
        });
        socket.on('error', reject);
        socket.write(
          `POST /oauth2/token HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\n\r\n`,
        );
      });
    const invalid = async () =>
      Number(/^token_result_total\{result="invalid_request"\} (\d+)/m.exec(await (await fetch(`${nodeUrl}/metrics`)).text())?.[1]);
    const before = await counts();
    const invalidBefore = await invalid();
    for (const length of [70_000, 2_000_000]) {
      const [go, node] = [await oversized(planeUrl, length), await oversized(nodeUrl, length)];
      expect({ length, status: go.status, body: go.body }).toEqual({ length, status: 413, body: node.body });
      expect(node.status).toBe(413);
      expect(go.head).toContain('cache-control: no-store');
      expect(JSON.parse(go.body).error).toBe('invalid_request');
    }
    const after = await counts();
    expect(after.forwarded - before.forwarded).toBe(0);
    expect(await invalid()).toBe(invalidBefore + 4); // two refused by the IdP, two by the token plane
  });

  it('leaves every subject token it cannot read exactly as the IdP reads it to the IdP', async () => {
    const now = Math.floor(Date.now() / 1000);
    const H = '{"alg":"RS256","kid":"crafted-1"}';
    const claims = (extra = '', exp = `${now + 600}`) =>
      `{"iss":"${CRAFT_ISSUER}","sub":"system:serviceaccount:p1-a:default","aud":["authlab-idp"],"iat":${now},"exp":${exp}${extra}}`;
    const ask = (base: string, subject_token: string) => exchange(base, form({ ...good(), subject_token }));
    // A token of the crafted issuer the token plane verifies and answers itself.
    let before = await counts();
    const plain = await ask(planeUrl, crafted(H, claims()));
    expect(plain.status, plain.text).toBe(200);
    expect((await verified(JSON.parse(plain.text).access_token)).sub).toBe('p1-a');
    let after = await counts();
    expect([after.issued - before.issued, after.forwarded - before.forwarded]).toEqual([1, 0]);

    const cases: [string, string][] = [
      // JSON.parse keeps the last of a repeated key: expired here, valid in the next.
      ['exp repeated, the last expired', crafted(H, claims(`,"exp":${now - 600}`))],
      ['exp repeated, the last valid', crafted(H, claims(`,"exp":${now + 900}`, `${now - 600}`))],
      ['an escape in sub', crafted(H, claims().replace('default', 'def\\u0061ult'))],
      ['a kubernetes.io namespace of another service', crafted(H, claims(',"kubernetes.io":{"namespace":"p2-a"}'))],
      ['kubernetes.io namespace repeated', crafted(H, claims(',"kubernetes.io":{"namespace":"p1-a","namespace":"p2-a"}'))],
      ['a crit header', crafted('{"alg":"RS256","kid":"crafted-1","crit":["exp"]}', claims())],
      ['exp a string', crafted(H, claims('', `"${now + 600}"`))],
      ['no iat', crafted(H, claims().replace(`"iat":${now},`, ''))],
      ['aud with a number', crafted(H, claims().replace('["authlab-idp"]', '["authlab-idp",7]'))],
      ['aud of another service', crafted(H, claims().replace('["authlab-idp"]', '"kubernetes"'))],
      ['nbf in the future', crafted(H, claims(`,"nbf":${now + 600}`))],
      ['an unknown kid', crafted('{"alg":"RS256","kid":"crafted-2"}', claims())],
      ['alg ES256 on an RSA key', crafted('{"alg":"ES256","kid":"crafted-1"}', claims())],
    ];
    before = await counts();
    for (const [name, token] of cases) {
      const [go, node] = [await ask(planeUrl, token), await ask(nodeUrl, token)];
      if (node.status === 200) expect({ name, status: go.status }).toEqual({ name, status: 200 });
      else expect({ name, status: go.status, body: go.text }).toEqual({ name, status: node.status, body: node.text });
    }
    after = await counts();
    expect(after.forwarded - before.forwarded).toBe(cases.length);
    expect(after.issued - before.issued).toBe(0);
  });

  it('decides with an admin change as soon as the change is answered: grants, token lifetime, key rotation', async () => {
    const ask = () => exchange(planeUrl, form({ ...good('p2-a'), audience: 'p1-b' }));
    expect((await ask()).status).toBe(400);
    expect((await admin('PUT', '/admin/grants', { caller: 'p2-a', target: 'p1-b', roles: ['read'] })).status).toBe(200);
    const granted = await ask();
    expect(granted.status, granted.text).toBe(200);
    const claims = await verified(JSON.parse(granted.text).access_token);
    expect(claims).toMatchObject({ sub: 'p2-a', aud: ['p1-b'], roles: { 'p1-b': ['read'] }, rev: idp.store.state.revision });
    expect((await admin('DELETE', '/admin/grants', { caller: 'p2-a', target: 'p1-b' })).status).toBe(200);
    expect((await ask()).status).toBe(400);

    expect((await admin('PUT', '/admin/settings', { global: { tokenTtlSeconds: 77 } })).status).toBe(200);
    const short = JSON.parse((await exchange(planeUrl, form(good()))).text);
    expect(short.expires_in).toBe(77);
    const c = await verified(short.access_token);
    expect(c.exp! - c.iat!).toBe(77);

    const rotated = await admin('POST', '/admin/keys/rotate');
    expect(rotated.status).toBe(200);
    const kid = decodeProtectedHeader(JSON.parse((await exchange(planeUrl, form(good()))).text).access_token).kid;
    expect(kid).toBe(idp.keys.currentKid);
  });

  it('counts what it issued in the IdP’s /metrics and token ledger', async () => {
    const body = JSON.parse((await exchange(planeUrl, form(good('p3-a')))).text);
    const jti = (await verified(body.access_token)).jti;
    const metrics = await (await fetch(`${nodeUrl}/metrics`)).text();
    const issued = Number(/^token_result_total\{result="issued"\} (\d+)/m.exec(metrics)?.[1]);
    expect(issued).toBeGreaterThanOrEqual(idp.tokenPlane()!.counts().issued);
    expect(metrics).toMatch(/^token_issue_duration_seconds_count\{result="issued"\} [1-9]\d*$/m);
    const status = (await (await admin('GET', '/admin/status')).json()) as { tokens: { subject: string; jti: string }[] };
    expect(status.tokens.find((t) => t.subject === 'system:serviceaccount:p3-a:default')?.jti).toBe(jti);
  });

  it('is restarted on the same port when it dies, the IdP unhealthy until it holds the state again', async () => {
    const plane = idp.tokenPlane()!;
    const pid = plane.pid!;
    process.kill(pid, 'SIGKILL');
    // The IdP learns of the exit from its child's 'exit' event; from then on until the restart holds the state, unhealthy.
    let down: { status: number; body: { tokenPlane: { running: boolean } } } | undefined;
    for (const deadline = Date.now() + 2000; Date.now() < deadline && down === undefined;) {
      const res = await fetch(`${nodeUrl}/healthz`);
      if (res.status === 503) down = { status: res.status, body: (await res.json()) as { tokenPlane: { running: boolean } } };
    }
    expect(down?.body.tokenPlane.running).toBe(false);
    for (const deadline = Date.now() + 10_000; !plane.running() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    const health = (await (await fetch(`${nodeUrl}/healthz`)).json()) as { ok: boolean; tokenPlane: { pid: number; restarts: number } };
    expect(health.ok).toBe(true);
    expect(health.tokenPlane.restarts).toBe(1);
    expect(health.tokenPlane.pid).not.toBe(pid);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(plane.url).toBe(planeUrl);
    const res = await exchange(planeUrl, form(good()));
    expect(res.status, res.text).toBe(200);
    expect(logs.some((l) => /token plane restarted/.test(l))).toBe(true);
  });

  it('stops with the IdP (no process left)', async () => {
    const pid = idp.tokenPlane()!.pid!;
    await idp.close();
    expect(() => process.kill(pid, 0)).toThrow();
    idp = undefined as unknown as Idp;
  });
});
