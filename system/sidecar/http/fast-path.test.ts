import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTakeServer, type TakeServer } from '../../../test/support/fast-take.js';
import { AuthlabError } from '../../protocol/errors.js';
import { fastPath, rawJsonOf, type RouteRequest } from './fast-path.js';

let taken: TakeServer;
const seen: { route: string; request: RouteRequest }[] = [];
const logged: string[] = [];

beforeAll(async () => {
  const fast = fastPath({
    async query(request) {
      seen.push({ route: 'query', request });
      const body = request.body as { query?: string };
      if (body.query === 'authlab-error') throw new AuthlabError('ERR_DB_UNAVAILABLE', 'The database is down.');
      if (body.query === 'crash') throw new Error('boom at line 1');
      return { rows: [{ raw: rawJsonOf(request) }] };
    },
    async call(request, reply) {
      seen.push({ route: 'call', request });
      return reply.code(202).header('server-timing', 'sign;dur=1.000').type('application/json').send(Buffer.from('{"relayed":true}'));
    },
    log: (m) => logged.push(m),
  });
  // What the fast path declines goes on here, as fastify's handler does in the sidecar.
  taken = await startTakeServer(fast);
});
afterAll(() => taken?.close());
const send: TakeServer['send'] = (...args) => taken.send(...args);

const json = (body: string, extra: Record<string, string | number> = {}) => ({
  'content-type': 'application/json',
  'content-length': Buffer.byteLength(body),
  ...extra,
});

describe('the sidecar fast path (plain node:http for the data path)', () => {
  it('serves a plain JSON POST /query: parsed body, text kept, JSON answer as fastify sends it', async () => {
    const body = '{"query":"light", "params":{"id":7}}';
    const r = await send('POST', '/query', body, json(body));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ rows: [{ raw: body }] });
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.text)));
    expect(r.headers['server-timing']).toMatch(/^total;dur=\d+\.\d{3}$/);
    expect(seen.at(-1)!.request.body).toEqual({ query: 'light', params: { id: 7 } });
  });

  it('serves /call/<target>/query with the target as a parameter and relays a Buffer as it is', async () => {
    const body = '{"query":"light"}';
    const r = await send('POST', '/call/p1-b/query', body, json(body, { 'content-type': 'Application/JSON; charset=UTF-8' }));
    expect(r.status).toBe(202);
    expect(r.text).toBe('{"relayed":true}');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['server-timing']).toBe('sign;dur=1.000');
    expect(seen.at(-1)!.request.params.target).toBe('p1-b');
  });

  it('leaves every other request to fastify unread', async () => {
    const body = '{"query":"light"}';
    const declined: [string, string, Record<string, string | number>][] = [
      ['GET', '/query', {}],
      ['POST', '/query?x=1', json(body)],
      ['POST', '/query/', json(body)],
      ['POST', '/call/p1%2Db/query', json(body)],
      ['POST', `/call/${'a'.repeat(101)}/query`, json(body)],
      ['POST', '/call//query', json(body)],
      ['POST', '/query', json(body, { 'content-type': 'text/plain' })],
      ['POST', '/query', json(body, { 'content-type': 'application/json; charset=latin1' })],
      ['POST', '/query', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }],
    ];
    for (const [method, path, headers] of declined) {
      const r = await send(method, path, method === 'GET' ? '' : body, headers);
      expect([r.status, r.text], `${method} ${path} ${JSON.stringify(headers)}`).toEqual([299, 'fallback']);
    }
    const big = JSON.stringify({ query: 'write', params: { note: 'x'.repeat(70_000) } });
    expect((await send('POST', '/query', big, json(big))).status).toBe(299);
  });

  it('refuses an empty, invalid or poisoned body with ERR_BODY_NOT_JSON before the route runs', async () => {
    const before = seen.length;
    for (const body of ['', '{"query":', '{"query":"write","__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}']) {
      const r = await send('POST', '/query', body, json(body));
      expect(r.status, body).toBe(400);
      expect(JSON.parse(r.text).error.code, body).toBe('ERR_BODY_NOT_JSON');
      expect(r.headers['server-timing'], body).toMatch(/^total;dur=/);
    }
    expect(seen.length).toBe(before);
  });

  it("maps a route's AuthlabError to its code and anything else to ERR_INTERNAL, logging the details", async () => {
    const down = '{"query":"authlab-error"}';
    const r1 = await send('POST', '/query', down, json(down));
    expect([r1.status, JSON.parse(r1.text).error.code]).toEqual([503, 'ERR_DB_UNAVAILABLE']);
    const crash = '{"query":"crash"}';
    const r2 = await send('POST', '/query', crash, json(crash));
    expect([r2.status, JSON.parse(r2.text).error.code]).toEqual([500, 'ERR_INTERNAL']);
    expect(r2.text).not.toMatch(/boom/);
    expect(logged.join('\n')).toMatch(/boom at line 1/);
  });

  it('shrugs off a client that leaves mid-body, and serves the next request', async () => {
    const before = seen.length;
    await new Promise<void>((resolve) => {
      const socket = connect(taken.port, '127.0.0.1', () => {
        socket.write('POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":');
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.length).toBe(before);
    const body = '{"query":"light"}';
    expect((await send('POST', '/query', body, json(body))).status).toBe(200);
  });
});
