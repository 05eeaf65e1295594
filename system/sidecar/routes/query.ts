import { performance } from 'node:perf_hooks';
import { AuthlabError } from '../../protocol/errors.js';
import type { ParsedQuery } from '../query-catalogue.js';
import { parseQueryBody } from '../query-catalogue.js';
import type { SidecarContext } from '../context.js';
import { sendError } from '../http/errors.js';
import type { RouteHandler, RouteReply } from '../http/fast-path.js';
import { CpuStage, serverTiming } from '../server-timing.js';
import { calibrationWait } from '../calibrate.js';
import { ROLE_BITS } from '../verify/verify-cache.js';
import { createVerifyMemo, FAILURES, type VerifyMemo, type VerifyOutcome } from '../verify/verifier.js';

const MEMO = Symbol('authlab.verify-memo');

/** The connection's memo of its last verified token (verifier.ts, `VerifyMemo`), made on first use. */
function memoOf(socket: object | null | undefined): VerifyMemo | undefined {
  if (socket == null) return undefined;
  const s = socket as { [MEMO]?: VerifyMemo };
  return (s[MEMO] ??= createVerifyMemo());
}

const WWW_AUTHENTICATE = 'Bearer error="invalid_token"';
/** RFC 6750 §3.1: more than one way of sending a token is a malformed request, not a bad token. */
const WWW_AUTHENTICATE_REQUEST = 'Bearer error="invalid_request"';

/**
 * True when the request carries more than one Authorization header. Node keeps only the first in
 * `headers`, so a second one (which a proxy in front may have used instead) would pass unseen.
 */
export function hasRepeatedAuthorization(rawHeaders: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/**
 * Inbound `POST /query`: verify (per verifyMode) → validate → authorize → database. Nothing touches
 * the database before authorization is decided. The handler serves both fastify and the fast path
 * (http/fast-path.ts).
 */
export function queryRoute(ctx: SidecarContext): RouteHandler {
  const { settings, metrics, link } = ctx;
  const verifyCpu = new CpuStage();

  function fail(reply: RouteReply, t0: number, verifyMs: number, err: AuthlabError, unauthenticated: boolean) {
    reply.header('server-timing', serverTiming(verifyMs, -1, -1, -1, performance.now() - t0));
    if (unauthenticated) reply.header('www-authenticate', err.status === 400 ? WWW_AUTHENTICATE_REQUEST : WWW_AUTHENTICATE);
    return sendError(reply, err.code, err.message);
  }

  return async (request, reply) => {
    const t0 = performance.now();
    const s = settings.current();
    const mode = s.verifyMode;
    let outcome: VerifyOutcome | null = null;
    let verifyMs = -1;
    let verifyCpuMs = -1;
    if (mode !== 'off') {
      const c0 = verifyCpu.start();
      const verifier = link.verifier();
      if (verifier === null) {
        if (mode === 'enforce') {
          return fail(
            reply,
            t0,
            -1,
            new AuthlabError('ERR_IDP_UNREACHABLE', 'The sidecar has not loaded the IdP signing keys yet; retry once /readyz is 200.'),
            false,
          );
        }
      } else {
        const v = hasRepeatedAuthorization(request.raw.rawHeaders)
          ? FAILURES.ambiguous
          : verifier.verify(request.headers.authorization, memoOf(request.raw.socket));
        outcome = v instanceof Promise ? await v : v;
        calibrationWait(mode); // test hook, off unless AUTHLAB_CALIBRATE_US is set (../calibrate.ts)
        verifyMs = performance.now() - t0;
        verifyCpuMs = verifyCpu.ms(c0);
        if (mode === 'enforce' && !outcome.ok) {
          metrics.verified(outcome.result);
          return fail(reply, t0, verifyMs, new AuthlabError(outcome.code, outcome.message), true);
        }
      }
    }

    let q: ParsedQuery;
    try {
      q = parseQueryBody(request.body, ctx.random);
    } catch (err) {
      if (err instanceof AuthlabError) return fail(reply, t0, verifyMs, err, false);
      throw err;
    }

    let caller: string | null = null;
    if (mode === 'off') {
      metrics.verified('skipped');
    } else {
      const allowed = outcome !== null && outcome.ok && (outcome.roleMask & ROLE_BITS[q.role]) !== 0;
      if (outcome !== null && outcome.ok) caller = outcome.sub;
      if (mode === 'enforce') {
        if (!allowed) {
          metrics.verified('forbidden');
          return fail(
            reply,
            t0,
            verifyMs,
            new AuthlabError(
              'ERR_FORBIDDEN',
              `Caller "${caller}" lacks the "${q.role}" role on ${ctx.service} needed by "${q.query}"; ask for a grant.`,
            ),
            false,
          );
        }
        metrics.verified('ok');
      } else {
        // observe: the outcome is counted, the request is served whatever it is (dry run).
        metrics.verified(allowed ? 'ok' : 'observe_denied');
      }
    }

    const tDb = performance.now();
    const rows = await ctx.db.run(q, caller);
    const t1 = performance.now();
    const dbMs = t1 - tDb;
    const totalMs = t1 - t0;
    metrics.db(q.query, dbMs / 1000);
    metrics.request('inbound', q.query, mode, s.signMode, totalMs / 1000);
    reply.header('server-timing', serverTiming(verifyMs, dbMs, -1, -1, totalMs, verifyCpuMs));
    return { rows };
  };
}
