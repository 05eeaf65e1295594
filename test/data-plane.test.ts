/**
 * The sidecar's Go data plane (system/sidecar/data-plane.ts, dataplane/cmd/dataplane): a sidecar started
 * with `dataPlane` serves outbound calls from a Go process as its own `/call` serves them — same answers,
 * same refusals, the token and modes the sidecar holds, its counts in the sidecar's /metrics — with a real
 * PostgreSQL, a fixture IdP and a Node sidecar as the target.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { once } from 'node:events';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../system/sidecar/app.js';
import { buildGoProgram } from '../system/sidecar/data-plane.js';
import { freePorts } from '../runner/platforms/local/ports.js';
import { startFixtureIdp, type FixtureIdp } from './support/fixture-idp.js';
import { startTestPostgres, type TestPostgres } from './support/pg.js';
import { startSidecar, waitFor, writeSaToken } from './support/sidecar-harness.js';
import { tracked } from './support/fc-runs.js';

const built = await buildGoProgram('dataplane');
if (built.binary === null) console.warn(`SKIP data-plane.test.ts: ${built.reason}`);

const ADMIN = 'local-secret';
const JSON_HEADERS = { 'content-type': 'application/json' };

interface Answer {
  status: number;
  headers: Headers;
  json: { rows?: unknown[]; error?: { code: string; message: string } };
}
async function post(url: string, body: string, headers: Record<string, string> = JSON_HEADERS): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Answer['json'] };
}
async function status(url: string) {
  const res = await fetch(`${url}/local/status`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return (await res.json()) as {
    revision: number;
    ready: boolean;
    signMode: string;
    verifyMode: string;
    dataPlane: { url: string; pid: number | null; running: boolean; restarts: number; revision: number; inSync: boolean } | null;
  };
}
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe.skipIf(built.binary === null)('sidecar with the Go data plane', () => {
  let pg: TestPostgres;
  let idp: FixtureIdp;
  let a: { sidecar: Sidecar; url: string };
  let b: { sidecar: Sidecar; url: string };
  let dp: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    pg = await startTestPostgres();
    idp = await startFixtureIdp();
    // p1-a holds a grant on p1-b and on p0-gone (a peer nothing listens for); p9-x is a peer it has none
    // on (the same sidecar as p1-b, under another name).
    idp.register('sa-p1-a', 'p1-a', ['p0-gone', 'p1-b'], { 'p1-b': ['read', 'write'], 'p0-gone': ['read'] });
    idp.register('sa-p1-b', 'p1-b', [], {});
    const saA = await writeSaToken('sa-p1-a');
    const saB = await writeSaToken('sa-p1-b');
    cleanups.push(saA.cleanup, saB.cleanup);
    b = await startSidecar({
      service: 'p1-b',
      pair: 1,
      databaseUrl: await pg.createDatabase('p1-b'),
      idpUrl: idp.url,
      saTokenPath: saB.path,
      peers: {},
      localAdminToken: ADMIN,
    });
    a = await startSidecar({
      service: 'p1-a',
      pair: 1,
      databaseUrl: await pg.createDatabase('p1-a'),
      idpUrl: idp.url,
      saTokenPath: saA.path,
      peers: { 'p1-b': b.url, 'p9-x': b.url, 'p0-gone': `http://127.0.0.1:${(await freePorts(1))[0]}` },
      localAdminToken: ADMIN,
      dataPlane: { binary: built.binary! },
    });
    dp = a.sidecar.dataPlaneUrl()!;
    await waitFor(
      'both sidecars ready',
      async () => (await fetch(`${a.url}/readyz`)).status === 200 && (await fetch(`${b.url}/readyz`)).status === 200,
      45_000,
    );
  });

  afterAll(async () => {
    await a?.sidecar.close();
    await b?.sidecar.close();
    await idp?.close();
    for (const c of cleanups) await c();
    await pg?.stop();
  });

  it('is ready once the data plane holds the token and settings, and /local/status says where it listens', async () => {
    expect(dp).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const s = await status(a.url);
    expect(s).toMatchObject({ ready: true, revision: 1, dataPlane: { url: dp, running: true, restarts: 0, revision: 1, inSync: true } });
    const ready = (await (await fetch(`${a.url}/readyz`)).json()) as { checks: Record<string, boolean> };
    expect(ready.checks.dataPlane).toBe(true);
    // Its liveness answers as the sidecar's does (a cluster's probes and the runner's wait use it).
    const health = await fetch(`${dp}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe(await (await fetch(`${a.url}/healthz`)).text());
  });

  it('signs and forwards a call as /call does: rows, the target verified the token, the stages in Server-Timing', async () => {
    const r = await post(`${dp}/call/p1-b/query`, '{"query":"light","params":{"id":42}}');
    expect(r.status).toBe(200);
    expect(r.json.rows).toEqual([{ id: 42, data: expect.stringMatching(/^[0-9a-f]{32}$/) }]);
    // p1-b is in enforce: a 200 means the data plane attached a token p1-b accepts.
    expect(r.headers.get('server-timing')).toMatch(
      /^sign;dur=\d+\.\d{3}, (sign-cpu;dur=\d+\.\d{3}, )?upstream;dur=\d+\.\d{3}, total;dur=\d+\.\d{3}, peer-verify;dur=\d+\.\d{3}, (peer-verify-cpu;dur=\d+\.\d{3}, )?peer-db;dur=\d+\.\d{3}, peer-total;dur=\d+\.\d{3}$/,
    );
    // The sign stage's CPU is measured on one request in each block of 8, as the Node path does: this
    // request and the next 15 are the data plane's first two blocks.
    let withCpu = r.headers.get('server-timing')!.includes('sign-cpu;') ? 1 : 0;
    for (let i = 0; i < 15; i++) {
      const t = (await post(`${dp}/call/p1-b/query`, '{"query":"light"}')).headers.get('server-timing')!;
      if (t.includes('sign-cpu;')) withCpu++;
    }
    expect(withCpu).toBe(2);
  });

  it('refuses what the sidecar refuses, with the same status and error code', async () => {
    const cases: [string, string, Record<string, string>?][] = [
      ['/call/p1-b/query', 'not json'],
      ['/call/p1-b/query', '[1]'],
      ['/call/p1-b/query', '{"query":"light","extra":1}'],
      ['/call/p1-b/query', '{"query":"drop"}'],
      ['/call/p1-b/query', '{"query":"light","params":{"id":10001}}'],
      ['/call/p1-b/query', '{"query":"heavy","params":{"n":"5"}}'],
      ['/call/p1-b/query', '{"query":"light","__proto__":{"x":1}}'],
      ['/call/p1-b/query', '{"query":"light","params":{"id":[{"constructor":{"prototype":1}}]}}'],
      ['/call/p1-b/query', '{"query":"light","params":{"\\u005f_proto__":1}}'],
      ['/call/p1-b/query', '{"query":"light","params":{"id":1.5}}'],
      ['/call/p1-b/query', '{"query":"heavy","params":{"n":1e400}}'],
      ['/call/p1-b/query', '{"query":"heavy","params":{"n":-1.5e-9}}'],
      ['/call/p1-b/query', '{"query":"heavy","params":{"n":123456789012345678901234}}'],
      ['/call/p1-b/query', '{"query":"heavy","params":{"n":[1,2]}}'],
      ['/call/p1-b/query', '{"query":"light","params":{"b":1,"7":2,"a":3}}'],
      ['/call/p1-b/query', '{"z":1,"query":"light","10":2,"2":3}'],
      ['/call/p1-b/query', '{"query":"light","params":null}'],
      ['/call/p1-b/query', '{"query":null}'],
      ['/call/p1-b/query', '{"query":"light"}]'],
      ['/call/p1-b/query', '{"query":"light"} {}'],
      ['/call/p1-b/query', '{"query":"write","params":{"note":"a\\u0000b"}}'],
      ['/call/p1-b/query', ''],
      ['/call/p1-b/query', '\t'], // found by the property below: only no bytes at all are "empty"
      ['/call/p1-b/query', '\ufeff'],
      ['/call/p1-b/query', `{"query":"write","params":{"note":"${'x'.repeat(201)}"}}`],
      ['/call/p1-b/query', `{"query":"write","params":{"note":"${'x'.repeat(70_000)}"}}`],
      ['/call/p1-b/query', '{"query":"light"}', { 'content-type': 'text/plain' }],
      ['/call/p1-b/query', '{"query":"light"}', { 'content-type': 'application/xml' }],
      ['/call/nobody/query', '{"query":"light"}'],
      [`/call/${'n'.repeat(40)}<b>/query`, '{"query":"light"}'],
      ['/call/p9-x/query', '{"query":"light"}'], // no grant on p9-x: 403 in enforce
    ];
    for (const [path, body, headers] of cases) {
      const node = await post(`${a.url}${path}`, body, headers);
      const go = await post(`${dp}${path}`, body, headers);
      expect(node.status, `${path} ${body.slice(0, 60)}`).toBeGreaterThanOrEqual(400);
      expect([go.status, go.json.error?.code], `${path} ${body.slice(0, 60)}`).toEqual([node.status, node.json.error?.code]);
      expect(go.json.error?.message, `${path} ${body.slice(0, 60)}`).toBe(node.json.error?.message);
    }
    // fastify skips a byte order mark; so does the data plane.
    for (const base of [a.url, dp]) expect((await post(`${base}/call/p1-b/query`, '\ufeff{"query":"light"}')).status).toBe(200);
    const forbidden = await post(`${dp}/call/p9-x/query`, '{"query":"light"}');
    expect(forbidden.json.error?.message).toBe(
      'p1-a holds no grant on p9-x: its access token names p0-gone, p1-b; grant one with PUT /admin/grants on the IdP.',
    );
  });

  it('refuses a malformed request as the Node sidecar does: header too large, URL too long, bad escape', async () => {
    // node:http, so nothing client-side refuses the request first.
    const raw = (base: string, path: string, headers: Record<string, string>) =>
      new Promise<[number, string]>((resolve, reject) => {
        const u = new URL(base);
        const body = '{"query":"light"}';
        const req = httpRequest(
          {
            host: u.hostname,
            port: u.port,
            path,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve([res.statusCode ?? 0, (JSON.parse(text) as Answer['json']).error?.code ?? 'none']));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const cases: [string, Record<string, string>][] = [
      ['/call/p1-b/query', { 'x-pad': 'a'.repeat(20_000) }],
      ['/call/p1-b/query', { 'x-pad': 'a'.repeat(12_000) }], // within 16 KiB: served by both
      [`/call/${'y'.repeat(8_000)}/query`, {}],
      [`/call/%zz${'y'.repeat(100)}/query`, {}],
      ['/call/p1-b/query/extra', {}],
    ];
    for (const [path, headers] of cases) {
      expect(await raw(dp, path, headers), path.slice(0, 40)).toEqual(await raw(a.url, path, headers));
    }
  });

  it('speaks HTTP/1.1 as the Node sidecar does: pipelining, chunked bodies, 100-continue, Connection: close, HTTP/1.0, HEAD', async () => {
    // One connection per case, bytes as a client may send them; what counts is the answers' statuses in
    // order and whether the server closed the connection after them.
    const exchange = async (base: string, parts: string[], answers: number) => {
      const u = new URL(base);
      const socket = connect(Number(u.port), u.hostname);
      await once(socket, 'connect');
      let text = '';
      let closed = false;
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('close', () => (closed = true));
      socket.on('error', () => (closed = true));
      const statuses = () => [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      for (const [i, part] of parts.entries()) {
        // A part after the first waits for an interim 100 when the request asked for one, else 50 ms.
        if (i > 0 && parts[0]!.includes('Expect: 100-continue')) await waitFor('100 Continue', () => statuses().includes(100), 5000);
        else if (i > 0) await new Promise((r) => setTimeout(r, 50));
        socket.write(part);
      }
      await waitFor(`${answers} answers from ${base}`, () => closed || statuses().filter((s) => s >= 200).length >= answers, 5000).catch(
        (err: Error) => {
          throw new Error(`${err.message}; it sent ${JSON.stringify(text)}`);
        },
      );
      await new Promise((r) => setTimeout(r, 150)); // a close that follows the last answer
      socket.destroy();
      return { statuses: statuses(), closed };
    };
    const query = '{"query":"light","params":{"id":3}}';
    const post = (extra = '', body = query) =>
      `POST /call/p1-b/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
    const cases: [string, string[], number, { statuses: number[]; closed: boolean }][] = [
      [
        'three pipelined in one write',
        [post() + post('', '{"query":"drop"}') + 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'],
        3,
        { statuses: [200, 400, 200], closed: false },
      ],
      [
        'a request split across writes',
        [post().slice(0, 30), post().slice(30, 120), post().slice(120)],
        1,
        { statuses: [200], closed: false },
      ],
      [
        'a chunked body',
        [
          `POST /call/p1-b/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{"query":\r\n`,
          `8\r\n"light"}\r\n0\r\n\r\n`,
        ],
        1,
        { statuses: [200], closed: false },
      ],
      [
        'Expect: 100-continue',
        [post('Expect: 100-continue\r\n').split('\r\n\r\n')[0] + '\r\n\r\n', query],
        1,
        { statuses: [100, 200], closed: false },
      ],
      ['Connection: close', [post('Connection: close\r\n')], 1, { statuses: [200], closed: true }],
      ['HTTP/1.0', [post().replace('HTTP/1.1', 'HTTP/1.0')], 1, { statuses: [200], closed: true }],
      ['HEAD /healthz, then a call', ['HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n' + post()], 2, { statuses: [200, 200], closed: false }],
      ['not HTTP', ['hello\r\n\r\n'], 1, { statuses: [400], closed: true }],
    ];
    for (const [name, parts, answers, want] of cases) {
      expect(await exchange(a.url, parts, answers), `Node sidecar: ${name}`).toEqual(want);
      expect(await exchange(dp, parts, answers), `data plane: ${name}`).toEqual(want);
    }
  });

  it('tells a client how long an idle connection stays open, as the Node sidecar does', async () => {
    // A client pool that is not told (undici's) closes an idle connection after its own 4 s and dials again; on
    // kube a dial while the pod is unready (the IdP down) is refused by the Service.
    const headersOf = (base: string, path: string, method: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const u = new URL(base);
        const req = httpRequest(
          { host: u.hostname, port: u.port, path, method, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ connection: res.headers.connection, 'keep-alive': res.headers['keep-alive'] }));
          },
        );
        req.on('error', reject);
        req.end(method === 'POST' ? '{"query":"light"}' : undefined);
      });
    for (const [path, method] of [
      ['/call/p1-b/query', 'POST'],
      ['/call/p9-x/query', 'POST'],
      ['/healthz', 'GET'],
    ] as const) {
      const node = await headersOf(a.url, path, method);
      expect(node, `${method} ${path}`).toEqual({ connection: 'keep-alive', 'keep-alive': 'timeout=65' });
      expect(await headersOf(dp, path, method), `${method} ${path}`).toEqual(node);
    }
  });

  it('answers a peer that does not listen with 502 ERR_UPSTREAM_UNREACHABLE, as the Node sidecar, and goes on serving', async () => {
    for (const base of [a.url, dp]) {
      const gone = await post(`${base}/call/p0-gone/query`, '{"query":"light"}');
      expect([gone.status, gone.json.error?.code], base).toEqual([502, 'ERR_UPSTREAM_UNREACHABLE']);
      expect(gone.json.error?.message, base).toMatch(/^Target sidecar "p0-gone" unreachable: .*(ECONNREFUSED|connection refused).*\.$/);
      expect((await post(`${base}/call/p1-b/query`, '{"query":"light"}')).status, base).toBe(200);
    }
  });

  it('any body: the same status, error code and message as the Node path (fast-check, 8 s)', async () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
      fc.string({ maxLength: 256, unit: 'binary' }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            query: fc.oneof(fc.constantFrom('light', 'heavy', 'write', 'heavy-cached'), fc.string()),
            params: fc.oneof(
              fc.jsonValue({ maxDepth: 3 }),
              fc.record({ id: fc.oneof(fc.integer({ min: -2, max: 10_002 }), fc.double(), fc.string()) }, { requiredKeys: [] }),
              fc.record({ n: fc.oneof(fc.integer({ min: -2, max: 5_000_002 }), fc.double()) }, { requiredKeys: [] }),
              fc.record({ note: fc.oneof(fc.string({ maxLength: 210, unit: 'grapheme' }), fc.integer()) }, { requiredKeys: [] }),
            ),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    );
    const runs = tracked(async (payload: string | Buffer) => {
      const send = (base: string) =>
        fetch(`${base}/call/p1-b/query`, { method: 'POST', headers: JSON_HEADERS, body: payload }).then(async (r) => [
          r.status,
          ...(({ code, message }) => [code ?? 'none', message ?? ''])(
            ((await r.json()) as Answer['json']).error ?? { code: 'none', message: '' },
          ),
        ]);
      expect(await send(dp), String(payload).slice(0, 200)).toEqual(await send(a.url));
    });
    try {
      await fc.assert(fc.asyncProperty(body, runs.predicate), {
        numRuns: 400,
        interruptAfterTimeLimit: 8_000,
        markInterruptAsFailure: false,
      });
    } finally {
      // The run the time limit cut off may still have a heavy query in flight, which the count test below would see.
      await runs.settled();
    }
  });

  it('follows the modes the IdP publishes: observe forwards an ungranted call, sign off sends no token', async () => {
    const observe = idp.publish((s) => (s.settings.services['p1-a'] = { verifyMode: 'observe' }));
    await waitFor('p1-a in observe everywhere', async () => (await status(a.url)).revision === observe.revision);
    expect((await status(a.url)).dataPlane?.revision).toBe(observe.revision);
    // Forwarded: p1-b checks the token itself and finds it names p1-b, so it answers.
    expect((await post(`${dp}/call/p9-x/query`, '{"query":"light"}')).status).toBe(200);

    const off = idp.publish((s) => (s.settings.services['p1-a'] = { signMode: 'off', verifyMode: 'enforce' }));
    await waitFor('p1-a signs nothing', async () => (await status(a.url)).revision === off.revision);
    const r = await post(`${dp}/call/p1-b/query`, '{"query":"light"}');
    // p1-b in enforce refuses a call without a token, and the data plane relays its answer.
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(r.headers.get('server-timing')).toMatch(/^upstream;dur=\d+\.\d{3}, total;dur=\d+\.\d{3}, peer-/);

    const back = idp.publish((s) => delete s.settings.services['p1-a']);
    await waitFor('p1-a back to the defaults', async () => (await status(a.url)).revision === back.revision);
    expect((await post(`${dp}/call/p1-b/query`, '{"query":"light"}')).status).toBe(200);
  });

  it("carries a refreshed token from the moment /local/refresh-token answers: the old one's revocation does not touch it", async () => {
    const old = a.sidecar.link.tokenSource()!.current()!.accessToken;
    const res = await fetch(`${a.url}/local/refresh-token`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    const jti = (JSON.parse(Buffer.from(old.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    const snap = idp.publish((s) => s.revocations.jtis.push({ jti, exp: Math.floor(Date.now() / 1000) + 300 }));
    await waitFor('revocation applied on p1-b', async () => (await status(b.url)).revision === snap.revision);
    expect((await post(`${b.url}/query`, '{"query":"light"}', { ...JSON_HEADERS, authorization: `Bearer ${old}` })).status).toBe(401);
    expect((await post(`${dp}/call/p1-b/query`, '{"query":"light"}')).status).toBe(200);
  });

  it("adds the data plane's counts to the sidecar's /metrics, exactly once", async () => {
    const labels = { direction: 'outbound', query: 'heavy', verify_mode: 'enforce', sign_mode: 'on', service: 'p1-a' };
    const read = async () => {
      const text = await (await fetch(`${a.url}/metrics`)).text();
      return {
        count: sample(text, 'sidecar_request_duration_seconds_count', labels),
        inf: sample(text, 'sidecar_request_duration_seconds_bucket', { ...labels, le: '+Inf' }),
        signedOk: sample(text, 'auth_signed_total', { result: 'ok', service: 'p1-a' }),
        noGrant: sample(text, 'auth_signed_total', { result: 'no_grant', service: 'p1-a' }),
      };
    };
    const before = await read();
    for (let i = 0; i < 3; i++) expect((await post(`${dp}/call/p1-b/query`, '{"query":"heavy","params":{"n":10}}')).status).toBe(200);
    expect((await post(`${a.url}/call/p1-b/query`, '{"query":"heavy","params":{"n":10}}')).status).toBe(200); // Node's own path
    expect((await post(`${dp}/call/p9-x/query`, '{"query":"heavy"}')).status).toBe(403);
    const after = await read();
    expect(after.count - before.count).toBe(4);
    expect(after.inf - before.inf).toBe(4);
    expect(after.signedOk - before.signedOk).toBe(4);
    expect(after.noGrant - before.noGrant).toBe(1);
    // A second scrape with nothing new adds nothing.
    expect(await read()).toEqual(after);
  });

  it('restarts a data plane that dies, on the same address, unready until the new one holds the token', async () => {
    const labels = { direction: 'outbound', query: 'light', verify_mode: 'enforce', sign_mode: 'on', service: 'p1-a' };
    const count = async () => sample(await (await fetch(`${a.url}/metrics`)).text(), 'sidecar_request_duration_seconds_count', labels);
    expect((await post(`${dp}/call/p1-b/query`, '{"query":"light"}')).status).toBe(200);
    const before = await count();
    const { pid } = (await status(a.url)).dataPlane!;
    process.kill(pid!, 'SIGKILL');
    // Until the new process holds the token and settings, readiness says the data plane is not there.
    await waitFor('readiness to report the data plane down', async () => (await fetch(`${a.url}/readyz`)).status === 503, 2000);
    const down = (await (await fetch(`${a.url}/readyz`)).json()) as { checks: Record<string, boolean>; message: string };
    expect(down.checks.dataPlane).toBe(false);
    expect(down.message).toContain('data plane is being restarted');
    await waitFor('the data plane restarted and ready', async () => (await fetch(`${a.url}/readyz`)).status === 200, 10_000);
    const s = await status(a.url);
    expect(s.dataPlane).toMatchObject({ url: dp, running: true, restarts: 1, revision: s.revision, inSync: true });
    expect(s.dataPlane!.pid).not.toBe(pid);
    expect(isAlive(pid!)).toBe(false);
    // The new process signs with the sidecar's token, and its counts join /metrics from zero.
    for (let i = 0; i < 2; i++) expect((await post(`${dp}/call/p1-b/query`, '{"query":"light"}')).status).toBe(200);
    expect((await count()) - before).toBe(2);
    // The restart is a series of its own, for a dashboard or an alert on a data plane that keeps dying.
    expect(sample(await (await fetch(`${a.url}/metrics`)).text(), 'sidecar_data_plane_restarts_total', { service: 'p1-a' })).toBe(1);
  });

  it('stops the data plane with the sidecar', async () => {
    expect((await post(`${dp}/call/p1-b/query`, '{"query":"light"}')).status).toBe(200);
    const pid = (await status(a.url)).dataPlane!.pid!;
    expect(isAlive(pid)).toBe(true);
    await a.sidecar.close();
    // close() resolves once the data plane has exited (SIGTERM, SIGKILL after 5 s).
    expect(isAlive(pid)).toBe(false);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(built.binary === null)('the Go data plane on its own', () => {
  it('runs under a sidecar that is pid 1 (a container), and ends at once when its parent is not the one that started it', async () => {
    const run = (parentPid: number) =>
      new Promise<{ code: number | null; stderr: string; line: string }>((resolve) => {
        const c = spawn(built.binary!, [], {
          env: { ...process.env, AUTHLAB_DATAPLANE_SECRET: 's', AUTHLAB_PARENT_PID: String(parentPid) },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        let line = '';
        c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        c.stdout!.once('data', (d: Buffer) => {
          line = d.toString();
          c.kill('SIGTERM');
        });
        c.once('exit', (code) => resolve({ code, stderr, line }));
      });
    // Its parent here is this process: it listens (then is stopped).
    expect((await run(process.pid)).line).toMatch(/^\{.*"event":"listening"/);
    // A sidecar that is pid 1, as in a pod (a new pid namespace; root only): its data plane listens.
    if (process.getuid?.() === 0) {
      const inNamespace = spawn(
        'unshare',
        [
          '--pid',
          '--fork',
          '--kill-child',
          process.execPath,
          '-e',
          `const c = require('node:child_process').spawn(${JSON.stringify(built.binary)}, [], { env: { ...process.env, AUTHLAB_DATAPLANE_SECRET: 's', AUTHLAB_PARENT_PID: String(process.pid) }, stdio: ['ignore', 'pipe', 'inherit'] });
           c.stdout.once('data', (d) => { console.log(process.pid + ' ' + d.toString().trim()); c.kill(); });
           c.once('exit', (code, signal) => { if (code !== null && code !== 0) console.log('exited ' + code); });`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      inNamespace.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await once(inNamespace, 'exit');
      expect(out).toMatch(/^1 \{.*"event":"listening"/);
    }
    // A parent other than the one named (it ended, and this process was handed to a subreaper): exit 1, said why.
    const orphan = await run(process.pid + 1_000_000);
    expect(orphan.code).toBe(1);
    expect(orphan.stderr).toMatch(/ended before this process started/);
  });

  it('ends when its sidecar is killed with SIGKILL (no orphan left behind)', async () => {
    // A stand-in sidecar: starts the data plane, prints its pid, and waits to be killed.
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `const c = require('node:child_process').spawn(${JSON.stringify(built.binary)}, [], { env: { ...process.env, AUTHLAB_DATAPLANE_SECRET: 's' }, stdio: ['ignore', 'ignore', 'inherit'] });
         setTimeout(() => console.log(c.pid), 300); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    expect(isAlive(pid)).toBe(true);
    parent.kill('SIGKILL');
    await waitFor('the data plane to end', () => !isAlive(pid), 5000);
  });
});
