import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnListening, type ListeningChild } from '../../../runner/platforms/local/child.js';

/** bench:hop compares the sidecar with this forwarder: it is only a fair ceiling if every request crosses the hop. */
describe('bench:hop Node ceiling (minimal-proxy.ts)', () => {
  const seen: string[] = [];
  let upstream: Server;
  let proxy: ListeningChild | undefined;
  let url: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        res.writeHead(201, { 'content-type': 'application/json' }).end(`{"echo":${body}}`);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    proxy = await spawnListening(fileURLToPath(new URL('./minimal-proxy.ts', import.meta.url)), { UPSTREAM: `http://127.0.0.1:${port}` });
    url = proxy.url;
  });
  afterAll(async () => {
    await proxy?.stop();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it("forwards each request's body to the upstream's /query and relays its status and answer", async () => {
    for (const id of [1, 2]) {
      const res = await fetch(`${url}/call/null/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"id":${id}}`,
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ echo: { id } });
    }
    expect(seen).toEqual(['POST /query {"id":1}', 'POST /query {"id":2}']);
  });
});
