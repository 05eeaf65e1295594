import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnListening, type ListeningChild } from '../../../runner/platforms/local/child.js';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream.js';

/** bench:hop compares the sidecar with this forwarder: it is only a fair ceiling if every request crosses the hop. */
describe('bench:hop Node ceiling (minimal-proxy.ts)', () => {
  let upstream: EchoUpstream;
  let proxy: ListeningChild | undefined;
  let url: string;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    proxy = await spawnListening(fileURLToPath(new URL('./minimal-proxy.ts', import.meta.url)), { UPSTREAM: upstream.url });
    url = proxy.url;
  });
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
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
    expect(upstream.seen).toEqual(['POST /query {"id":1}', 'POST /query {"id":2}']);
  });
});
