import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k6FixedRate } from './load.js';

/**
 * bench:hop's fixed-rate figures are only the target's if k6 offers it the whole schedule: a slow target
 * must not make k6 skip iterations of the measured phase (it did, with VUs made mid-run).
 */
describe('k6FixedRate (fixed-rate.k6.js)', () => {
  let server: http.Server;
  let url: string;
  const seen = { n: 0, bodies: new Set<string>() };

  beforeAll(async () => {
    // Every answer takes 100 ms: at 400 requests/s that keeps ~40 requests in flight, twice the VUs
    // the script once preallocated.
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.n++;
        seen.bodies.add(`${req.method} ${req.url} ${req.headers['content-type']} ${body}`);
        setTimeout(() => res.end('{"ok":true}'), 100);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/query`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('offers a slow target the whole measured schedule, and reports its latency and what it sent', async () => {
    const r = await k6FixedRate({ url, body: '{"query":"light"}', rateRps: 400, durationS: 2, warmupS: 1 });
    expect(r.dropped).toBe(0);
    expect(r.requests).toBeGreaterThanOrEqual(800);
    expect(r.requests).toBeLessThanOrEqual(810);
    expect(r.allRequests).toBeGreaterThanOrEqual(r.requests + 400 - r.allDropped);
    expect(seen.n).toBe(r.allRequests);
    expect(r.failedRate).toBe(0);
    // The server answers after 100 ms, so the median cannot be below it.
    expect(r.p50Us).toBeGreaterThanOrEqual(100_000);
    expect(r.p50Us).toBeLessThan(150_000);
    expect([...seen.bodies]).toEqual(['POST /query application/json {"query":"light"}']);
  }, 60_000);
});
