import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { AuthlabError } from '../../protocol/errors.js';
import { excerpt } from '../../protocol/excerpt.js';
import type { SidecarContext } from '../context.js';
import { sendError } from '../http/errors.js';
import { rawJsonOf, type RouteHandler } from '../http/fast-path.js';
import { parseQueryBody, type ParsedQuery } from '../query-catalogue.js';
import { CpuStage, serverTiming } from '../server-timing.js';
import { forward } from './forward.js';

/** Keep-alive connections per peer sidecar. */
const PEER_CONNECTIONS = 256;

/**
 * `Server-Timing` of an answer that ends before the upstream's (sign and upstream stages when run).
 * Module-level, not a closure in the handler: under tsx (esbuild's keepNames) a closure made per request
 * costs a `__name` call each time, 0.8 µs per request in the hop's profile.
 */
function timingSince(t0: number, signMs: number, upMs: number): string {
  return serverTiming(-1, -1, upMs, signMs, performance.now() - t0);
}

/** The `aud` of the held token, decoded once per token (the hot path compares a string and probes a Set). */
function audienceReader(): (token: string) => ReadonlySet<string> {
  let lastToken = '';
  let lastAud: ReadonlySet<string> = new Set();
  return (token) => {
    if (token === lastToken) return lastAud;
    let aud: unknown;
    try {
      aud = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: unknown }).aud;
    } catch {
      aud = undefined;
    }
    lastAud = new Set(Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : typeof aud === 'string' ? [aud] : []);
    lastToken = token;
    return lastAud;
  };
}

/**
 * Outbound `POST /call/<target>/query`: validates the body, attaches the current access token when
 * signMode is on, forwards over a pooled keep-alive connection and relays the target's answer.
 * Returns the pools so the sidecar can close them.
 */
export function callRoute(ctx: SidecarContext): { handler: RouteHandler; pools: Map<string, Pool> } {
  const pools = new Map<string, Pool>();
  for (const [name, url] of Object.entries(ctx.peers)) {
    pools.set(name, new Pool(url, { connections: PEER_CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 }));
  }
  const { metrics, settings, link } = ctx;
  const audienceOf = audienceReader();
  const signCpu = new CpuStage();

  const handler: RouteHandler = async (request, reply) => {
    const t0 = performance.now();
    const target = request.params.target ?? '';
    const pool = pools.get(target);
    if (pool === undefined) {
      reply.header('server-timing', timingSince(t0, -1, -1));
      const known = [...pools.keys()].join(', ') || 'none configured';
      return sendError(reply, 'ERR_UNKNOWN_TARGET', `Unknown target ${excerpt(target)}; known peers: ${known}.`);
    }
    let q: ParsedQuery;
    try {
      q = parseQueryBody(request.body, ctx.random);
    } catch (err) {
      reply.header('server-timing', timingSince(t0, -1, -1));
      if (err instanceof AuthlabError) return sendError(reply, err.code, err.message);
      throw err;
    }
    const s = settings.current();
    let authorization: string | undefined;
    let signMs = -1;
    let signCpuMs = -1;
    if (s.signMode === 'on') {
      // The sign stage is the auth work alone (token, egress check): body validation above runs in every mode.
      const tSign = performance.now();
      const c0 = signCpu.start();
      const ts = link.tokenSource();
      const held = ts?.current();
      try {
        // The common case is synchronous: a valid token is held.
        const token = held ? held.accessToken : ts ? await ts.get() : undefined;
        if (token === undefined)
          throw new AuthlabError('ERR_NO_TOKEN', 'The sidecar has not reached the IdP yet; retry once /readyz is 200.');
        authorization = `Bearer ${token}`;
      } catch (err) {
        metrics.signed('no_token');
        reply.header('server-timing', timingSince(t0, performance.now() - tSign, -1));
        const e = err instanceof AuthlabError ? err : new AuthlabError('ERR_NO_TOKEN', String(err));
        return sendError(reply, e.code, e.message);
      }
      // Egress authorization: a token that does not name the target is a missing grant (403), found here
      // without a network hop. It follows this sidecar's verifyMode: enforce refuses, observe counts and
      // forwards (the target then counts it too), off skips the check.
      let signResult: 'ok' | 'observe_no_grant' = 'ok';
      if (s.verifyMode !== 'off' && !audienceOf(authorization.slice(7)).has(target)) {
        if (s.verifyMode === 'enforce') {
          metrics.signed('no_grant');
          reply.header('server-timing', timingSince(t0, performance.now() - tSign, -1));
          return sendError(
            reply,
            'ERR_FORBIDDEN',
            `${ctx.service} holds no grant on ${target}: its access token names ${[...audienceOf(authorization.slice(7))].join(', ') || 'no target'}; grant one with PUT /admin/grants on the IdP.`,
          );
        }
        signResult = 'observe_no_grant';
      }
      signMs = performance.now() - tSign;
      signCpuMs = signCpu.ms(c0);
      metrics.signed(signResult);
    } else {
      metrics.signed('skipped');
    }

    const tUp = performance.now();
    let status: number;
    let body: Buffer;
    let wwwAuthenticate: string | string[] | undefined;
    let peerTiming: string | string[] | undefined;
    try {
      const res = await forward(pool, {
        path: '/query',
        method: 'POST',
        headers: authorization ? { 'content-type': 'application/json', authorization } : { 'content-type': 'application/json' },
        // The validated body as received (http/json-body.ts), not re-stringified.
        body: rawJsonOf(request) ?? JSON.stringify(request.body),
      });
      status = res.status;
      wwwAuthenticate = res.headers['www-authenticate'];
      peerTiming = res.headers['server-timing'];
      body = res.body;
    } catch (err) {
      reply.header('server-timing', timingSince(t0, signMs, performance.now() - tUp));
      return sendError(reply, 'ERR_UPSTREAM_UNREACHABLE', `Target sidecar "${target}" unreachable: ${(err as Error).message}.`);
    }
    const t1 = performance.now();
    metrics.request('outbound', q.query, s.verifyMode, s.signMode, (t1 - t0) / 1000);
    if (wwwAuthenticate !== undefined) reply.header('www-authenticate', wwwAuthenticate);
    let timingValue = serverTiming(-1, -1, t1 - tUp, signMs, t1 - t0, -1, signCpuMs);
    // The target's own stages, renamed `peer-<stage>`, so one response splits the whole chain.
    if (typeof peerTiming === 'string') timingValue += `, peer-${peerTiming.replaceAll(', ', ', peer-')}`;
    reply.header('server-timing', timingValue);
    return reply.code(status).type('application/json').send(body);
  };
  return { handler, pools };
}
