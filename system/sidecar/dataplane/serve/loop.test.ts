/**
 * serve.Loop, the epoll loop the Go data plane runs on (dataplane/serve/loop.go), through cmd/hop-loop: the
 * loop with the query catalogue's checks and nothing else. What test/data-plane.test.ts's parity suite
 * cannot reach from a sidecar: its keep-alive pool against an upstream that closes idle connections or is
 * down, and a client that pipelines without reading its answers.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildGoProgram } from '../../data-plane.js';
import { startEchoUpstream, type EchoUpstream } from '../../bench/echo-upstream.js';
import { startGoHop } from '../../bench/go-hop.js';
import type { ListeningChild } from '../../../../runner/platforms/local/child.js';

const built = await buildGoProgram('hop-loop');
if (built.binary === null) console.warn(`SKIP loop.test.ts: ${built.reason}`);

const JSON_HEADERS = { 'content-type': 'application/json' };

describe.skipIf(built.binary === null)('serve.Loop (through cmd/hop-loop)', () => {
  let upstream: EchoUpstream | undefined;
  let hop: ListeningChild | undefined;
  afterEach(async () => {
    await hop?.stop();
    await upstream?.close();
    hop = upstream = undefined;
  });

  const call = async (body = '{"query":"light","params":{"id":1}}') => {
    const res = await fetch(`${hop!.url}/call/null/query`, { method: 'POST', headers: JSON_HEADERS, body });
    return { status: res.status, json: (await res.json()) as { echo?: unknown; error?: { code: string; message: string } } };
  };

  it('keeps one upstream connection alive across calls, and dials anew once the upstream has closed it while idle', async () => {
    upstream = await startEchoUpstream({ keepAliveTimeout: 300 });
    hop = await startGoHop(built.binary!, upstream.url);
    for (let i = 0; i < 5; i++) expect((await call()).status).toBe(201);
    expect(upstream.connections()).toBe(1);
    // node:http closes it after 300 ms idle plus the second it allows for timers here: ~1.3 s.
    await new Promise((r) => setTimeout(r, 2000));
    const after = await call();
    expect(after).toEqual({ status: 201, json: { echo: { query: 'light', params: { id: 1 } } } });
    expect(upstream.connections()).toBe(2);
  });

  it('answers 502 ERR_UPSTREAM_UNREACHABLE while the upstream is down, and forwards again once it is back on its port', async () => {
    upstream = await startEchoUpstream();
    const port = Number(new URL(upstream.url).port);
    hop = await startGoHop(built.binary!, upstream.url);
    expect((await call()).status).toBe(201);
    await upstream.close();
    const down = await call();
    expect(down.status).toBe(502);
    expect(down.json.error?.code).toBe('ERR_UPSTREAM_UNREACHABLE');
    expect(down.json.error?.message).toMatch(/^Target sidecar "null" unreachable: .*connection refused\.$/);
    upstream = await startEchoUpstream({ port });
    expect((await call()).status).toBe(201);
  });

  it('serves a client that pipelines 300 calls before reading any answer: every answer, in order, and others meanwhile', async () => {
    // An upstream whose answers are 100 KB each: 30 MB in all, more than the sockets' buffers hold, so the
    // loop has to stop reading the client until it reads, and go on when it does.
    const pad = 'x'.repeat(100_000);
    const big = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(`{"echo":${body},"pad":"${pad}"}`));
    });
    await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
    try {
      hop = await startGoHop(built.binary!, `http://127.0.0.1:${(big.address() as AddressInfo).port}`);
      const u = new URL(hop.url);
      const socket = connect(Number(u.port), u.hostname);
      await once(socket, 'connect');
      const n = 300;
      let sent = '';
      for (let i = 0; i < n; i++) {
        const b = `{"query":"light","params":{"id":${i + 1}}}`;
        sent += `POST /call/null/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}`;
      }
      socket.pause(); // reads nothing until every call is written and a moment has passed
      socket.write(sent);
      await new Promise((r) => setTimeout(r, 500));
      expect((await call()).status).toBe(201); // another client is served while this one reads nothing
      let ids: number[] = [];
      let tail = '';
      socket.on('data', (d: Buffer) => {
        const text = tail + d.toString('latin1');
        const re = /\{"echo":\{"query":"light","params":\{"id":(\d+)\}\}/g;
        let m: RegExpExecArray | null;
        let last = 0;
        while ((m = re.exec(text))) {
          ids.push(Number(m[1]));
          last = re.lastIndex;
        }
        tail = text.slice(Math.max(last, text.length - 100));
      });
      socket.resume();
      const deadline = Date.now() + 20_000;
      while (ids.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      expect(ids).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    } finally {
      big.closeAllConnections();
      await new Promise((r) => big.close(r));
    }
  });
});
