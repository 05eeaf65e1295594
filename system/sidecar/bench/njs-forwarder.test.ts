import { access } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../../runner/platforms/local/ports.js';
import { AuthlabError } from '../../protocol/errors.js';
import { parseQueryBody } from '../query-catalogue.js';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream.js';
import { nginxBinary, njsModule, startNjsForwarder, type Nginx } from './nginx.js';

const missing = await Promise.all(
  [nginxBinary(), njsModule()].map((p) =>
    access(p).then(
      () => null,
      () => p,
    ),
  ),
);
const absent = missing.filter(Boolean);
if (absent.length) console.warn(`SKIP njs-forwarder.test.ts: ${absent.join(', ')} missing (apt-get install nginx libnginx-mod-http-js)`);

/**
 * bench:hop's native ceiling is only a fair comparison if it does the sidecar's outbound work: every
 * valid body crosses the hop to the upstream's /query, an invalid one is refused before it, as the
 * sidecar's /call refuses it (same status and error code).
 */
describe.skipIf(absent.length > 0)('bench:hop native ceiling (nginx + njs/hop.js)', () => {
  let upstream: EchoUpstream;
  let nginx: Nginx | undefined;
  let url: string;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    const [port] = await freePorts(1);
    const started = await startNjsForwarder(upstream.url, port!);
    if (!started.nginx) throw new Error(started.reason);
    nginx = started.nginx;
    url = started.url;
    upstream.seen.length = 0; // the readiness probe's request
  });
  afterAll(async () => {
    await nginx?.stop();
    await upstream?.close();
  });

  const post = (body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it("forwards a valid body to the upstream's /query and relays its status and answer", async () => {
    for (const body of ['{"query":"light","params":{"id":7}}', '{"query":"write","params":{"note":"x"}}', '{"query":"heavy"}']) {
      const res = await post(body);
      expect(res.status).toBe(201);
      expect(res.headers.get('server-timing')).toMatch(/^total;dur=\d+$/);
      expect(await res.json()).toEqual({ echo: JSON.parse(body) });
    }
    expect(upstream.seen).toHaveLength(3);
    expect(upstream.seen[0]).toBe('POST /query {"query":"light","params":{"id":7}}');
  });

  it('refuses what the sidecar refuses, with its status and error code, and forwards none of it', async () => {
    const before = upstream.seen.length;
    const cases: [string, string][] = [
      ['not json', 'ERR_BODY_NOT_JSON'],
      ['[1]', 'ERR_BAD_REQUEST'],
      ['{"query":"light","extra":1}', 'ERR_BAD_REQUEST'],
      ['{"query":"drop"}', 'ERR_UNKNOWN_QUERY'],
      ['{"query":"light","params":[1]}', 'ERR_BAD_PARAMS'],
      ['{"query":"light","params":{"n":1}}', 'ERR_BAD_PARAMS'],
      ['{"query":"light","params":{"id":"1"}}', 'ERR_BAD_PARAMS'],
      ['{"query":"light","params":{"id":10001}}', 'ERR_BAD_PARAMS'],
      ['{"query":"heavy","params":{"n":0}}', 'ERR_BAD_PARAMS'],
      [`{"query":"write","params":{"note":"${'x'.repeat(201)}"}}`, 'ERR_BAD_PARAMS'],
    ];
    for (const [body, code] of cases) {
      // The sidecar's own catalogue refuses it with the same code (fastify refuses 'not json' first).
      if (code !== 'ERR_BODY_NOT_JSON') {
        let thrown: unknown;
        try {
          parseQueryBody(JSON.parse(body));
        } catch (err) {
          thrown = err;
        }
        expect(thrown instanceof AuthlabError && thrown.code, body).toBe(code);
      }
      const res = await post(body);
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, body).toBe(code);
    }
    expect(upstream.seen).toHaveLength(before);
  });
});
