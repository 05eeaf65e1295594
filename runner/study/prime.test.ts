import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunMode } from '../../system/protocol/modes.js';
import { primePairs } from './prime.js';

let server: Server | undefined;
afterEach(() => server?.close());

describe('primePairs', () => {
  it('puts every pair in each mode in turn and sends it the scenario’s requests, within the budget', async () => {
    const seen: string[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(`${req.url} ${body}`);
        res.statusCode = req.url?.includes('bad') ? 503 : 200;
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const modeOf = new Map<number, RunMode>();
    const order: string[] = [];
    const result = await primePairs({
      platform: {
        async setPairMode(pair, mode) {
          modeOf.set(pair, mode);
          order.push(`${pair}:${mode}`);
        },
        // The request must arrive while the pair is in the mode primed: the URL names both.
        targetUrl: (pair, mode) => `${base}/${mode === 'observe' ? 'bad' : 'ok'}/p${pair}/${mode}/${modeOf.get(pair)}`,
      },
      pairs: [1, 2],
      modes: ['off', 'observe', 'enforce'],
      bodies: ['{"q":"a"}', '{"q":"b"}'],
      connections: 2,
      budget: { requests: 10, ms: 5_000 },
    });
    expect(order).toEqual(['1:off', '2:off', '1:observe', '2:observe', '1:enforce', '2:enforce']);
    expect(result.perMode).toEqual([
      { mode: 'off', sent: 20, failed: 0 },
      { mode: 'observe', sent: 20, failed: 20 },
      { mode: 'enforce', sent: 20, failed: 0 },
    ]);
    expect(seen).toHaveLength(60);
    for (const line of seen) {
      const [, , , urlMode, current] = line.split(' ')[0]!.split('/');
      expect(urlMode).toBe(current);
    }
    expect(seen.filter((l) => l.endsWith('{"q":"a"}')).length).toBe(30);
  });

  it('stops a mode at its time budget when requests are slow', async () => {
    server = createServer((_req, res) => setTimeout(() => res.end('{}'), 100));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await primePairs({
      platform: { setPairMode: async () => {}, targetUrl: () => `${base}/q` },
      pairs: [1],
      modes: ['off'],
      bodies: ['{}'],
      connections: 2,
      budget: { requests: 1_000, ms: 500 },
    });
    // 2 connections × ~100 ms per request over 0.5 s: about 10, never the 1,000 asked for.
    expect(result.perMode[0]!.sent).toBeGreaterThan(2);
    expect(result.perMode[0]!.sent).toBeLessThan(30);
  });
});
