import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k6SlicedRate } from './sliced-rate.js';

/**
 * bench:hop's interleaved rounds: each target gets the load only in its own slices, its quantiles are its
 * own, and its CPU is what its clock moved in its own slices — not while the others were loaded.
 */
describe('k6SlicedRate (sliced-rate.k6.js)', () => {
  const servers: http.Server[] = [];
  /** Arrival times (epoch ms) by server. */
  const arrivals: number[][] = [[], []];
  const urls: string[] = [];

  beforeAll(async () => {
    // Server 0 answers at once, server 1 after 5 ms.
    for (const [i, delayMs] of [0, 5].entries()) {
      const server = http.createServer((req, res) => {
        arrivals[i]!.push(Date.now());
        req.resume();
        req.on('end', () => (delayMs ? setTimeout(() => res.end('{}'), delayMs) : res.end('{}')));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/query`);
    }
  });
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it('loads each target only in its own slices and charges it only the CPU of its slices', async () => {
    const t0 = Date.now();
    // A CPU clock that moves 1 ms per request to server 0, and one that moves steadily, loaded or not.
    const r = await k6SlicedRate({
      targets: [
        { name: 'fast', url: urls[0]!, cpuSeconds: async () => arrivals[0]!.length * 0.001 },
        { name: 'slow-5ms', url: urls[1]!, cpuSeconds: async () => (Date.now() - t0) / 1000 },
      ],
      body: '{"query":"light"}',
      rateRps: 200,
      durationS: 2,
      warmupS: 0.5,
      sliceMs: 100,
    });
    const elapsedS = (Date.now() - t0) / 1000;
    const fast = r.byTarget.get('fast')!;
    const slow = r.byTarget.get('slow-5ms')!;
    expect(r.dropped).toBe(0);
    expect(r.lateReadings).toBe(0);
    // 200/s for 2 s per target over 4 s: about half of 800 each, as the slices split them.
    for (const t of [fast, slow]) {
      expect(t.requests).toBeGreaterThan(360);
      expect(t.requests).toBeLessThan(440);
      expect(t.failedRate).toBe(0);
    }
    expect(fast.allRequests + slow.allRequests).toBe(arrivals[0]!.length + arrivals[1]!.length);
    expect(fast.allRequests).toBe(arrivals[0]!.length);
    // Every request arrived within its target's slice (a few at the edge, sent just before a boundary).
    for (const [i, times] of arrivals.entries()) {
      const own = times.filter((t) => Math.floor((t - r.epochMs) / 100) % 2 === i).length;
      expect(own / times.length).toBeGreaterThan(0.97);
    }
    expect(fast.p50Us).toBeLessThan(5000);
    expect(slow.p50Us).toBeGreaterThanOrEqual(5000);
    // The per-request clock is read whole (its requests come only in its slices): 1 ms each.
    expect(fast.cpuSeconds! / fast.allRequests).toBeGreaterThan(0.00095);
    expect(fast.cpuSeconds! / fast.allRequests).toBeLessThanOrEqual(0.001);
    // The steady clock is charged its own slices only: about half the run, not all of it.
    expect(slow.cpuSeconds!).toBeGreaterThan(elapsedS * 0.4);
    expect(slow.cpuSeconds!).toBeLessThan(elapsedS * 0.6);
  }, 60_000);

  it('offers a slow target the whole measured schedule, and reports its latency and what it sent', async () => {
    // Every answer takes 100 ms: at 400 requests/s that keeps ~40 requests in flight, twice the VUs the
    // fixed-rate script once preallocated (k6 then dropped half the measured iterations).
    const seen = { n: 0, bodies: new Set<string>() };
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.n++;
        seen.bodies.add(`${req.method} ${req.url} ${req.headers['content-type']} ${body}`);
        setTimeout(() => res.end('{"ok":true}'), 100);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/query`;
    const r = await k6SlicedRate({
      targets: [{ name: 'slow', url }],
      body: '{"query":"light"}',
      rateRps: 400,
      durationS: 2,
      warmupS: 1,
      sliceMs: 250,
    });
    const m = r.byTarget.get('slow')!;
    expect(r.dropped).toBe(0);
    expect(m.requests).toBeGreaterThanOrEqual(800);
    expect(m.requests).toBeLessThanOrEqual(810);
    expect(m.allRequests).toBeGreaterThanOrEqual(m.requests + 400 - r.allDropped);
    expect(seen.n).toBe(m.allRequests);
    expect(m.failedRate).toBe(0);
    // The server answers after 100 ms, so the median cannot be below it.
    expect(m.p50Us).toBeGreaterThanOrEqual(100_000);
    expect(m.p50Us).toBeLessThan(150_000);
    expect(m.cpuSeconds).toBeNull(); // no clock given, no CPU figure
    expect([...seen.bodies]).toEqual(['POST /query application/json {"query":"light"}']);
  }, 60_000);
});
