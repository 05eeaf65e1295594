import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitSidecarsReady } from './ready.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A /readyz that answers 503 for its first `unready` probes, then 200; records each probe's socket. */
async function sidecar(unready: number) {
  const sockets = new Set<unknown>();
  let probes = 0;
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    probes++;
    const ready = probes > unready;
    res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ready ? { ready } : { ready, message: 'Not ready: the IdP settings stream is down.' }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, probes: () => probes, sockets };
}

describe('waitSidecarsReady', () => {
  it('waits until every sidecar answers /readyz 200, each probe on a new connection', async () => {
    const a = await sidecar(0);
    const b = await sidecar(3);
    const waited = await waitSidecarsReady({ sidecars: { 'p1-a': a.url, 'p1-b': b.url } });
    expect(a.probes()).toBe(1);
    expect(b.probes()).toBe(4);
    // A kept-alive connection reaches a pod its Service has dropped; only a new one proves the path.
    expect(b.sockets.size).toBe(4);
    expect(waited).toBeGreaterThanOrEqual(3 * 200 - 50);
  });

  it('gives up after the timeout, naming the sidecar and what it answered', async () => {
    const b = await sidecar(1_000);
    await expect(waitSidecarsReady({ sidecars: { 'p1-b': b.url }, timeoutMs: 500 })).rejects.toThrow(
      /p1-b was not ready .* \(\/readyz 503: Not ready: the IdP settings stream is down\.\)/,
    );
  });

  it('counts a refused connection as not ready', async () => {
    const gone = await sidecar(0);
    const url = gone.url;
    await new Promise((r) => servers.pop()!.close(r));
    await expect(waitSidecarsReady({ sidecars: { 'p1-a': url }, timeoutMs: 300 })).rejects.toThrow(
      /p1-a was not ready .*no connection: ECONNREFUSED/,
    );
  });
});
