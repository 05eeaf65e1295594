import { access } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../../runner/platforms/local/ports.js';
import { AuthlabError } from '../../protocol/errors.js';
import { parseQueryBody } from '../query-catalogue.js';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream.js';
import { buildGoProgram } from '../data-plane.js';
import { startGoHop } from './go-hop.js';
import { nginxBinary, njsModule, startNjsForwarder } from './nginx.js';

const missing = await Promise.all(
  [nginxBinary(), njsModule()].map((p) =>
    access(p).then(
      () => null,
      () => p,
    ),
  ),
);
const absent = missing.filter(Boolean);
if (absent.length)
  console.warn(
    `SKIP native ceiling in ceiling-forwarders.test.ts: ${absent.join(', ')} missing (apt-get install nginx libnginx-mod-http-js)`,
  );
const goBuild = await buildGoProgram('hop-ceiling');
if (goBuild.binary === null) console.warn(`SKIP Go ceiling in ceiling-forwarders.test.ts: ${goBuild.reason}`);
const loopBuild = await buildGoProgram('hop-loop');
if (loopBuild.binary === null) console.warn(`SKIP Go event-loop ceiling in ceiling-forwarders.test.ts: ${loopBuild.reason}`);

interface Ceiling {
  name: string;
  skip: boolean;
  /** Starts it in front of `upstream`; resolves with its `/call/null/query` URL and how to stop it. */
  start(upstream: string): Promise<{ url: string; stop: () => Promise<unknown> }>;
  /** Its Server-Timing on a forwarded answer. */
  timing: RegExp;
}

const ceilings: Ceiling[] = [
  {
    name: 'native ceiling (nginx + njs/hop.js)',
    skip: absent.length > 0,
    async start(upstream) {
      const [port] = await freePorts(1);
      const started = await startNjsForwarder(upstream, port!);
      if (!started.nginx) throw new Error(started.reason);
      return { url: started.url, stop: started.nginx.stop };
    },
    timing: /^total;dur=\d+$/,
  },
  {
    name: 'Go ceiling (go-hop/main.go)',
    skip: !goBuild.binary,
    async start(upstream) {
      const child = await startGoHop(goBuild.binary!, upstream);
      return { url: `${child.url}/call/null/query`, stop: child.stop };
    },
    timing: /^upstream;dur=\d+\.\d{3}, total;dur=\d+\.\d{3}$/,
  },
  {
    name: 'Go event-loop ceiling (cmd/hop-loop)',
    skip: !loopBuild.binary,
    async start(upstream) {
      const child = await startGoHop(loopBuild.binary!, upstream);
      return { url: `${child.url}/call/null/query`, stop: child.stop };
    },
    timing: /^upstream;dur=\d+\.\d{3}, total;dur=\d+\.\d{3}$/,
  },
];

/**
 * bench:hop's native and Go ceilings are only a fair comparison if they do the sidecar's outbound work:
 * every valid body crosses the hop to the upstream's /query, an invalid one is refused before it, as the
 * sidecar's /call refuses it (same status and error code).
 */
for (const ceiling of ceilings)
  describe.skipIf(ceiling.skip)(`bench:hop ${ceiling.name}`, () => {
    let upstream: EchoUpstream;
    let forwarder: { url: string; stop: () => Promise<unknown> } | undefined;
    let url: string;

    beforeAll(async () => {
      upstream = await startEchoUpstream();
      forwarder = await ceiling.start(upstream.url);
      url = forwarder.url;
      upstream.seen.length = 0; // the readiness probe's request
    });
    afterAll(async () => {
      await forwarder?.stop();
      await upstream?.close();
    });

    const post = (body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    it("forwards a valid body to the upstream's /query and relays its status and answer", async () => {
      for (const body of ['{"query":"light","params":{"id":7}}', '{"query":"write","params":{"note":"x"}}', '{"query":"heavy"}']) {
        const res = await post(body);
        expect(res.status).toBe(201);
        expect(res.headers.get('server-timing')).toMatch(ceiling.timing);
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

    it.runIf(ceiling.name.startsWith('Go'))('refuses an unknown target and an oversized body as the sidecar does', async () => {
      const before = upstream.seen.length;
      const other = await fetch(url.replace('/call/null/', '/call/elsewhere/'), { method: 'POST', body: '{"query":"light"}' });
      expect(other.status).toBe(404);
      expect(((await other.json()) as { error: { code: string } }).error.code).toBe('ERR_UNKNOWN_TARGET');
      const big = await post(`{"query":"write","params":{"note":"${'x'.repeat(70_000)}"}}`);
      expect(big.status).toBe(413);
      expect(((await big.json()) as { error: { code: string } }).error.code).toBe('ERR_BODY_TOO_LARGE');
      expect(upstream.seen).toHaveLength(before);
    });
  });
