import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { SETTINGS_STREAM_PATH } from '../../protocol/endpoints.js';
import { AuthlabError, type ErrorCode } from '../../protocol/errors.js';
import type { IdpContext } from '../context.js';
import { snapshotOf, type IdpState } from '../store/state.js';
import { SubjectTokenError } from '../subject-verifier.js';

/** Verifier reasons → the catalogue's token error codes. */
const REASON_CODES: Record<string, ErrorCode> = {
  expired: 'ERR_TOKEN_EXPIRED',
  not_yet_valid: 'ERR_TOKEN_NOT_YET_VALID',
  untrusted_issuer: 'ERR_TOKEN_ISSUER',
  wrong_audience: 'ERR_TOKEN_AUDIENCE',
  bad_alg: 'ERR_TOKEN_ALG',
  unknown_kid: 'ERR_TOKEN_UNKNOWN_KID',
  invalid_signature: 'ERR_TOKEN_SIGNATURE',
};

interface Stream {
  service: string;
  /** ISO 8601. */
  since: string;
  res: ServerResponse;
}

/** The open settings streams: broadcasts snapshots, pings, and ends them all on close. */
export interface StreamHub {
  connected(): { service: string; since: string }[];
  closeAll(): void;
}

export interface SettingsStreamOptions {
  ctx: IdpContext;
  /** Interval of `: ping` comments, ms. Default 15000. */
  pingIntervalMs?: number;
}

/**
 * `GET /v1/settings/stream` (SSE): a sidecar authenticates with its own SA token, gets a `snapshot`
 * event at once and after every committed change, and a `: ping` comment every 15 s.
 */
export function settingsStream(opts: SettingsStreamOptions): { routes: (app: FastifyInstance) => Promise<void>; hub: StreamHub } {
  const { ctx } = opts;
  const streams = new Set<Stream>();
  const message = (state: IdpState) => `event: snapshot\ndata: ${JSON.stringify(snapshotOf(state, Math.floor(ctx.now() / 1000)))}\n\n`;

  const unsubscribe = ctx.store.onChange((state) => {
    const msg = message(state);
    for (const s of streams) s.res.write(msg);
  });
  const ping = setInterval(() => {
    for (const s of streams) s.res.write(': ping\n\n');
  }, opts.pingIntervalMs ?? 15_000);
  ping.unref();

  const hub: StreamHub = {
    connected: () => [...streams].map(({ service, since }) => ({ service, since })),
    closeAll() {
      clearInterval(ping);
      unsubscribe();
      for (const s of streams) s.res.end();
      streams.clear();
    },
  };

  async function routes(app: FastifyInstance): Promise<void> {
    app.get(SETTINGS_STREAM_PATH, async (req, reply) => {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m) {
        reply.header('www-authenticate', 'Bearer error="invalid_token"');
        return reply
          .code(401)
          .send(new AuthlabError('ERR_TOKEN_MISSING', 'send Authorization: Bearer <your service-account token>').toBody());
      }
      let service: string;
      try {
        service = (await ctx.verifier.verify(m[1]!)).service;
      } catch (err) {
        const why = err instanceof SubjectTokenError ? err.message : 'token verification failed';
        const status = err instanceof SubjectTokenError && err.oauthError === 'temporarily_unavailable' ? 503 : 401;
        reply.header('www-authenticate', 'Bearer error="invalid_token"');
        const reason = err instanceof SubjectTokenError ? err.reason : '';
        const code = status === 503 ? 'ERR_IDP_UNREACHABLE' : (REASON_CODES[reason] ?? 'ERR_TOKEN_MALFORMED');
        return reply.code(status).send(new AuthlabError(code, why).toBody());
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Disable proxy buffering (nginx) so events arrive as they are sent.
        'x-accel-buffering': 'no',
      });
      const stream: Stream = { service, since: new Date(ctx.now()).toISOString(), res };
      streams.add(stream);
      res.write(message(ctx.store.state));
      const drop = () => streams.delete(stream);
      req.raw.on('close', drop);
      res.on('close', drop);
      return reply;
    });
  }

  return { routes, hub };
}
