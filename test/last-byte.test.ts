import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import type { Client } from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAST_BYTE_SUPPORTED, timeToLastByte } from '../runner/engines/last-byte.js';

/** `/split` answers its head and half its body at once and the rest after 30 ms; anything else at once. */
function startServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' });
      if (req.url !== '/split') {
        res.end('{"rows":[]}');
        return;
      }
      res.write('{"rows"');
      setTimeout(() => res.end(':[]}'), 30);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })),
  );
}

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Response times (ms) autocannon reports for 6 requests on one connection. */
async function durations(url: string, setup: (client: Client) => void): Promise<number[]> {
  const seen: number[] = [];
  await autocannon({
    url,
    connections: 1,
    amount: 6,
    setupClient: (client) => {
      setup(client);
      client.on('response', (_status: number, _bytes: number, ms: number) => seen.push(ms));
    },
  });
  return seen;
}

describe.runIf(LAST_BYTE_SUPPORTED)("the autocannon engine's response time ends at the last byte", () => {
  let target: { url: string; server: Server };
  beforeAll(async () => {
    target = await startServer();
  });
  afterAll(() => new Promise<void>((r) => target.server.close(() => r())));

  // The client's own work once the answer is in (here a 'headers' listener that takes 40 ms, as a slow
  // parse would) is not the target's response time.
  const slowListener = (client: Client): void => void client.on('headers', () => busy(40));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  it("leaves out what the client does after the response's bytes are read", async () => {
    const hooked = await durations(`${target.url}/query`, (c) => {
      timeToLastByte(c);
      slowListener(c);
    });
    expect(hooked).toHaveLength(6);
    // A loopback answer takes well under a millisecond; half the listener's time leaves room for a busy host
    // (a 5-ms listener and every response under it failed once in CI beside other test files).
    expect(median(hooked)).toBeLessThan(20);
    // The same client without the hook charges the listener's 40 ms to every response.
    const unhooked = await durations(`${target.url}/query`, slowListener);
    expect(Math.min(...unhooked)).toBeGreaterThanOrEqual(40);
  });

  it('waits for the last byte of a response that arrives in parts, not the first', async () => {
    const split = await durations(`${target.url}/split`, (c) => timeToLastByte(c));
    expect(split).toHaveLength(6);
    // setTimeout may fire up to ~1 ms early.
    expect(Math.min(...split)).toBeGreaterThanOrEqual(29);
  });
});
