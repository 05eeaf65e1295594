import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { messageEnd, openSlicedLoad, stopOnFailedRound } from './sliced-load.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A server counting what it receives; `chunked` answers the way node:http does after writeHead. */
async function counting(opts: { chunked: boolean; status?: number }): Promise<{ url: string; hits: () => number; inFlight: () => number }> {
  let hits = 0;
  let inFlight = 0;
  const server = createServer((req, res) => {
    hits++;
    inFlight++;
    req.resume();
    const arrived = performance.now();
    // Answers once 1 ms has passed by the clock the client times with (a timer may fire early by it).
    const later = (f: () => void): void => void (performance.now() - arrived >= 1 ? f() : setImmediate(() => later(f)));
    req.on('end', () =>
      later(() => {
        inFlight--;
        const body = JSON.stringify({ rows: [{ id: 42, data: 'x'.repeat(100) }] });
        if (opts.chunked) res.writeHead(opts.status ?? 200, { 'content-type': 'application/json' }).end(body);
        else res.writeHead(opts.status ?? 200, { 'content-length': Buffer.byteLength(body) }).end(body);
      }),
    );
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/query`, hits: () => hits, inFlight: () => inFlight };
}

describe('sliced load', () => {
  it('finds where a response ends, by Content-Length or by its last chunk', () => {
    const cl = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1');
    expect(messageEnd(cl, cl.indexOf('\r\n\r\n'))).toBe(cl.indexOf('hello') + 5);
    const chunked = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n');
    expect(messageEnd(chunked, chunked.indexOf('\r\n\r\n'))).toBe(chunked.length);
    const cut = chunked.subarray(0, chunked.length - 2);
    expect(messageEnd(cut, cut.indexOf('\r\n\r\n'))).toBe('incomplete');
    const bare = Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello');
    expect(messageEnd(bare, bare.indexOf('\r\n\r\n'))).toBe('unframed');
  });

  it('loads one server per slice, drains it before returning, and counts its answers', async () => {
    const a = await counting({ chunked: true });
    const b = await counting({ chunked: false });
    const load = await openSlicedLoad(
      [
        { url: a.url, body: '{}', pids: [process.pid] },
        { url: b.url, body: '{}', pids: [process.pid] },
      ],
      4,
    );
    try {
      const latencies: number[] = [];
      const r = await load.slice(0, 60, (us) => latencies.push(us));
      expect(latencies).toHaveLength(r.responses);
      expect(Math.min(...latencies)).toBeGreaterThanOrEqual(1000); // the server answers after 1 ms
      expect(b.hits()).toBe(0);
      expect(a.inFlight()).toBe(0);
      expect(r.responses).toBe(a.hits());
      expect(r.responses).toBeGreaterThan(4);
      expect(r.errors).toBe(0);
      expect(r.seconds).toBeGreaterThanOrEqual(0.06);
      expect(r.cpuSeconds).toBeGreaterThan(0);
      const before = a.hits();
      const s = await load.slice(1, 30);
      expect(a.hits()).toBe(before);
      expect(s.responses).toBe(b.hits());
      // The watched process (this one) worked while b was loaded: a's next slice reports that CPU apart.
      expect(r.betweenCpuSeconds).toBeUndefined();
      const again = await load.slice(0, 10);
      expect(again.betweenCpuSeconds).toBeGreaterThan(0);
    } finally {
      load.close();
    }
  });

  it('reads no CPU when a process it is told to watch is gone', async () => {
    const a = await counting({ chunked: false });
    const load = await openSlicedLoad([{ url: a.url, body: '{}', pids: [process.pid, 2 ** 22 + 1] }], 1);
    try {
      expect((await load.slice(0, 10)).cpuSeconds).toBeUndefined();
    } finally {
      load.close();
    }
  });

  it('counts answers that are not 2xx as errors', async () => {
    const bad = await counting({ chunked: true, status: 503 });
    const load = await openSlicedLoad([{ url: bad.url, body: '{}', pids: [process.pid] }], 2);
    try {
      const r = await load.slice(0, 20);
      expect(r.responses).toBe(0);
      expect(r.errors).toBe(bad.hits());
    } finally {
      load.close();
    }
  });

  it('sends the headers it is given from the next slice on, to that target only', async () => {
    // A server that accepts only the current token, as the enforce sidecar does once the old one expired.
    let accepted = 'Bearer one';
    const seen = new Set<string>();
    const server = createServer((req, res) => {
      seen.add(String(req.headers.authorization));
      req.resume();
      req.on('end', () => res.writeHead(req.headers.authorization === accepted ? 200 : 401, { 'content-length': 2 }).end('{}'));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/query`;
    const other = await counting({ chunked: false });
    const given = [
      { url, body: '{}', headers: { authorization: 'Bearer one' }, pids: [process.pid] },
      { url: other.url, body: '{}', pids: [process.pid] },
    ];
    const load = await openSlicedLoad(given, 2);
    try {
      expect((await load.slice(0, 20)).errors).toBe(0);
      accepted = 'Bearer two';
      expect((await load.slice(0, 20)).responses).toBe(0);
      load.setHeaders(0, { authorization: 'Bearer two' });
      // What a failed round's message sends by hand is the target as now sent; the caller's array is left as given.
      expect(load.target(0).headers).toEqual({ authorization: 'Bearer two' });
      expect(given[0]!.headers).toEqual({ authorization: 'Bearer one' });
      const r = await load.slice(0, 20);
      expect(r.errors).toBe(0);
      expect(r.responses).toBeGreaterThan(0);
      expect([...seen].sort()).toEqual(['Bearer one', 'Bearer two']);
      expect((await load.slice(1, 20)).errors).toBe(0);
      expect(() => load.setHeaders(2, {})).toThrow(/no target 2/);
      expect(() => load.target(2)).toThrow(/no target 2/);
    } finally {
      load.close();
    }
  });

  it('stops a round with non-2xx answers, naming the server and what it answers', async () => {
    const good = await counting({ chunked: false });
    const bad = await counting({ chunked: true, status: 503 });
    const targets = [
      { url: good.url, body: '{}', pids: [process.pid] },
      { url: bad.url, body: '{}', pids: [process.pid] },
    ];
    await expect(stopOnFailedRound(3, ['good', 'bad'], targets, [0, 0])).resolves.toBeUndefined();
    const hits = bad.hits();
    await expect(stopOnFailedRound(3, ['good', 'bad'], targets, [0, 7])).rejects.toThrow(
      /^round 3: bad answered 7 requests with a non-2xx status \(e\.g\. 503 \{"rows".*\); its figures would be wrong/,
    );
    expect(bad.hits()).toBe(hits + 1);
    expect(good.hits()).toBe(0);
  });

  it('fails the next slice once a server has closed one of its connections', async () => {
    const a = await counting({ chunked: true });
    const load = await openSlicedLoad([{ url: a.url, body: '{}', pids: [process.pid] }], 2);
    try {
      await load.slice(0, 10);
      servers[0]!.closeAllConnections();
      await new Promise((r) => setTimeout(r, 50));
      await expect(load.slice(0, 10)).rejects.toThrow(/closed a connection/);
    } finally {
      load.close();
    }
  });
});
