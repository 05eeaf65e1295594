import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { AuthlabError } from '../protocol/errors.js';
import { DEFAULT_SETTINGS, type Settings } from '../protocol/settings.js';
import { parseSettingsPatch, TOKEN_TTL_MAX_SECONDS } from './admin/validate.js';
import { adminRoutes } from './admin/routes.js';
import { createAdminUi } from './admin-ui/routes.js';
import type { IdpContext } from './context.js';
import { createIdpMetrics } from './metrics.js';
import { discoveryRoutes } from './routes/discovery.js';
import { settingsStream } from './routes/settings-stream.js';
import { TOKEN_PATH, tokenExchangeRoutes, tokenFastPath } from './routes/token-exchange.js';
import { startTokenPlane, type TokenPlane, type TokenPlaneState } from './token-plane.js';
import { fastServerFactory, type FastTake } from '../runtime/fast-http.js';
import { SigningKeyRing } from './signing-keys.js';
import { storeChanges } from './store/changes.js';
import { PermissionsStore } from './store/permissions-store.js';
import { TokenLedger } from './token-ledger.js';
import { PG_STATS_INTERVAL_MS, readPgStats, registerPgStats } from '../runtime/pg-stats.js';
import { JwksIssuerVerifier, type SubjectTokenVerifier, type TrustedIssuer } from './subject-verifier.js';

export interface IdpOptions {
  /** `iss` of access tokens. Default: the URL `listen` returns (required before serving if not listening). */
  issuer?: string;
  /** PostgreSQL URL of the permissions store; ignored when `pool` is given. */
  databaseUrl?: string;
  /** An existing pool (not ended by `close`). */
  pool?: pg.Pool;
  /** Bearer token of the admin API. */
  adminToken: string;
  /** Clusters whose service-account tokens are accepted (used when `verifier` is not given). */
  trustedIssuers?: TrustedIssuer[];
  /** Verified SA tokens cached until their exp (entries; 0 disables). Default 10000. */
  subjectTokenCacheSize?: number;
  /** Export `authlab_pg_*` of the permissions store's database on `/metrics` (service `idp`). */
  postgresStats?: boolean;
  /** Replaces the JWKS verifier (e.g. a TokenReview verifier). */
  verifier?: SubjectTokenVerifier;
  /** Initial access-token lifetime, seconds (first start only; then `PUT /admin/settings`). Default 300. */
  tokenTtlSeconds?: number;
  /** Settings written on first start (merged over defaults), validated like `PUT /admin/settings`. */
  initialSettings?: Partial<Settings>;
  /** Rotate signing keys every this many seconds. Default: only on `POST /admin/keys/rotate`. */
  keyRotationIntervalSeconds?: number;
  /** Subjects whose last issued token `GET /admin/status` reports (oldest refresh evicted first). Default 10000. */
  tokenLedgerCap?: number;
  /** Settings-stream ping interval, ms. Default 15000. */
  pingIntervalMs?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * Start the Go token plane (system/idp/token-plane.ts) when listening: `binary` from
   * `buildGoProgram('tokenplane')`, on `host` (default the IdP's) and `port` (default 0). Discovery's
   * `token_endpoint` then names it, at `url` when given (where clients reach it, e.g. a Service address).
   */
  tokenPlane?: { binary: string; host?: string; port?: number; url?: string };
  /** Where the token plane's restarts are told. Default stderr. */
  log?: (msg: string) => void;
}

export interface Idp {
  app: FastifyInstance;
  store: PermissionsStore;
  keys: SigningKeyRing;
  /** Listens (default 127.0.0.1, port 0) and returns the URL; sets `issuer` to it when none was configured. */
  listen(opts?: { host?: string; port?: number }): Promise<string>;
  /** The Go token plane, once listening with `tokenPlane`. */
  tokenPlane(): TokenPlane | undefined;
  /** Rotates the signing keys now (as `POST /admin/keys/rotate`). */
  rotateKeys(who?: string): Promise<{ revision: number; result: unknown }>;
  /** Ends streams, stops timers, closes the server and (if it opened it) the pool. */
  close(): Promise<void>;
}

/** Settings for a first start: defaults, then `tokenTtlSeconds`, then `initialSettings` (validated). */
export function initialSettingsOf(opts: Pick<IdpOptions, 'tokenTtlSeconds' | 'initialSettings'>): Settings {
  const patch = parseSettingsPatch({
    global: { ...(opts.tokenTtlSeconds !== undefined ? { tokenTtlSeconds: opts.tokenTtlSeconds } : {}), ...opts.initialSettings?.global },
    ...(opts.initialSettings?.services ? { services: opts.initialSettings.services } : {}),
  });
  const services: Settings['services'] = {};
  for (const [k, v] of Object.entries(patch.services ?? {})) if (v) services[k] = v;
  return { global: { ...DEFAULT_SETTINGS.global, ...patch.global }, services };
}

/**
 * Builds the IdP: opens (and migrates) the permissions store, loads the signing keys, and registers
 * discovery, JWKS, token exchange, the admin API, the settings stream and `/metrics`.
 */
export async function buildIdp(opts: IdpOptions): Promise<Idp> {
  const ownPool = !opts.pool;
  if (!opts.pool && !opts.databaseUrl) throw new Error('buildIdp needs databaseUrl or pool');
  if (!opts.verifier && !opts.trustedIssuers?.length) throw new Error('buildIdp needs trustedIssuers (at least one) or a verifier');
  const pool = opts.pool ?? new pg.Pool({ connectionString: opts.databaseUrl, max: 4 });
  // An idle client losing its connection emits 'error' on the pool; unhandled, that would kill the IdP,
  // which serves token exchange from memory and should outlive a database blip.
  const onPoolError = (err: Error) => process.stderr.write(`idp: PostgreSQL connection lost: ${err.message}\n`);
  pool.on('error', onPoolError);
  const now = opts.now ?? Date.now;
  let issuer = opts.issuer;
  let plane: TokenPlane | undefined;
  const log = opts.log ?? ((msg: string) => process.stderr.write(`idp: ${msg}\n`));
  // The token endpoint's plain form POSTs are answered on plain node:http (routes/token-exchange.ts),
  // everything else by fastify; the fast path is set once the context exists, before the server listens.
  let fast: FastTake = () => false;
  const app = Fastify({ logger: false, serverFactory: fastServerFactory((req, res) => fast(req, res)) });
  const timers: NodeJS.Timeout[] = [];
  try {
    const store = await PermissionsStore.open({ pool, initialSettings: initialSettingsOf(opts) });
    const keys = new SigningKeyRing(await store.loadKeys());
    // The longest lifetime a token signed in this process may have; grows with every TTL ever set.
    let maxTtl = store.state.settings.global.tokenTtlSeconds;
    store.onChange((s) => {
      maxTtl = Math.max(maxTtl, s.settings.global.tokenTtlSeconds);
    });
    const ctx: IdpContext = {
      store,
      keys,
      verifier:
        opts.verifier ?? new JwksIssuerVerifier({ trustedIssuers: opts.trustedIssuers ?? [], cacheSize: opts.subjectTokenCacheSize }),
      metrics: createIdpMetrics(),
      tokens: new TokenLedger(opts.tokenLedgerCap),
      issuer: () => {
        if (!issuer) throw new Error('IdP issuer unknown: pass options.issuer or call listen() first');
        return issuer;
      },
      tokenEndpoint: () =>
        `${plane ? (opts.tokenPlane?.url ?? plane.url).replace(/\/$/, '') : ctx.issuer().replace(/\/$/, '')}${TOKEN_PATH}`,
      tokenPlane: () => plane,
      now,
      maxTokenTtlSeconds: () => Math.min(TOKEN_TTL_MAX_SECONDS, maxTtl),
    };
    fast = tokenFastPath(ctx);
    // The token plane decides with what the IdP holds: every change is pushed (no-ops before it starts).
    const push = () => void plane?.sync().catch(() => {});
    store.onChange(push);
    keys.onChange(push);
    ctx.verifier.onTrustChange?.(push);
    const planeState = (): TokenPlaneState => {
      const s = store.state;
      const grants: TokenPlaneState['grants'] = {};
      for (const [caller, roles] of s.rolesByCaller) grants[caller] = Object.entries(roles);
      return {
        issuer: ctx.issuer(),
        revision: s.revision,
        ttlSeconds: s.settings.global.tokenTtlSeconds,
        signingKey: keys.currentPrivate(),
        grants,
        trust: ctx.verifier.trust?.() ?? null,
      };
    };
    if (opts.postgresStats) {
      registerPgStats(ctx.metrics.registry, () => readPgStats((sql) => pool.query(sql), 'idp', 'idle'), PG_STATS_INTERVAL_MS);
    }

    // Rotations run one at a time: each computes the new key set from the ring the previous one left.
    let rotation: Promise<unknown> = Promise.resolve();
    const rotateKeys = (who = 'admin') => {
      const run = rotation.then(async () => {
        const before = { previous: keys.previousKids, current: keys.currentKid, next: keys.nextKid };
        const records = await keys.rotated(now(), ctx.maxTokenTtlSeconds());
        const out = await storeChanges(store, who).rotateKeys(before, records);
        keys.apply(records);
        return out;
      });
      rotation = run.catch(() => {});
      return run;
    };
    // Retiring a previous key now, before its tokens would all have expired: refused while the IdP
    // knows of a service whose latest token it signed and that has not expired (refresh tokens first).
    const retireKey = (kid: string, who = 'admin') => {
      const run = rotation.then(async () => {
        if (kid === keys.currentKid || kid === keys.nextKid) {
          throw new AuthlabError(
            'ERR_CONFLICT',
            `key ${kid} is the ${kid === keys.currentKid ? 'current' : 'next'} signing key; only a previous key can be retired (rotate first)`,
          );
        }
        if (!keys.previousKids.includes(kid)) {
          throw new AuthlabError('ERR_NOT_FOUND', `no previous signing key ${kid}; GET /admin/status lists keys.previous`);
        }
        const held = ctx.tokens.newest().filter((t) => t.kid === kid && t.expiresAtMs > now());
        if (held.length > 0) {
          throw new AuthlabError(
            'ERR_CONFLICT',
            `${held.length} service(s) still hold a token signed by ${kid} (e.g. ${held[0]!.subject} until ${new Date(held[0]!.expiresAtMs).toISOString()}); POST /admin/refresh-tokens first, then retire`,
          );
        }
        const records = keys.records().filter((r) => r.kid !== kid);
        const out = await storeChanges(store, who).retireKey(kid, { previous: keys.previousKids }, records);
        keys.apply(records);
        return out;
      });
      rotation = run.catch(() => {});
      return run;
    };
    if (opts.keyRotationIntervalSeconds) {
      const t = setInterval(() => void rotateKeys('timer').catch(() => {}), opts.keyRotationIntervalSeconds * 1000);
      t.unref();
      timers.push(t);
    }
    // Housekeeping: stop publishing previous keys once nothing they signed can still be valid.
    const prune = setInterval(() => {
      if (keys.expiredPrevious(now(), ctx.maxTokenTtlSeconds()).length === 0) return;
      rotation = rotation
        .then(async () => {
          const drop = new Set(keys.expiredPrevious(now(), ctx.maxTokenTtlSeconds()));
          const records = keys.records().filter((r) => !drop.has(r.kid));
          await store.replaceKeys(records);
          keys.apply(records);
        })
        .catch(() => {});
    }, 60_000);
    prune.unref();
    timers.push(prune);

    app.setNotFoundHandler((req, reply) => {
      reply
        .code(404)
        .send(
          new AuthlabError(
            'ERR_NOT_FOUND',
            `no route ${req.method} ${req.url.split('?')[0]}; clients find URLs in /.well-known/openid-configuration`,
          ).toBody(),
        );
    });
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      const status = err.statusCode ?? 500;
      const e =
        status < 500
          ? new AuthlabError('ERR_BAD_REQUEST', `malformed request: ${err.message}`)
          : new AuthlabError('ERR_INTERNAL', `internal error: ${err.message}`, { cause: err });
      reply.code(e.status).send(e.toBody());
    });
    const stream = settingsStream({ ctx, pingIntervalMs: opts.pingIntervalMs });
    await app.register(discoveryRoutes, { ctx });
    await app.register(tokenExchangeRoutes, { ctx });
    await app.register(stream.routes);
    const adminUi = createAdminUi({ adminToken: opts.adminToken, now });
    await app.register(adminRoutes, {
      ctx,
      adminToken: opts.adminToken,
      streams: stream.hub,
      rotateKeys,
      retireKey,
      actorOf: adminUi.actorOf,
    });
    await app.register(adminUi.routes);
    // SSE responses are hijacked: end them first or server.close() would wait for them forever.
    app.addHook('preClose', async () => stream.hub.closeAll());
    if (opts.tokenPlane) {
      // What the token plane issued is in /metrics and the admin API's token ledger when they are read.
      app.addHook('onRequest', async (req) => {
        if (plane && (req.url.startsWith('/metrics') || req.url.startsWith('/admin'))) {
          await plane.read().catch((err: unknown) => log(`could not read the token plane: ${(err as Error).message}`));
        }
      });
      // An admin change answers once the token plane holds it, so the next exchange is decided with it.
      app.addHook('onSend', async () => {
        if (plane) await plane.settled();
      });
    }

    return {
      app,
      store,
      keys,
      rotateKeys,
      tokenPlane: () => plane,
      async listen(l = {}) {
        const url = await app.listen({ host: l.host ?? '127.0.0.1', port: l.port ?? 0 });
        issuer ??= url;
        if (opts.tokenPlane) {
          await ctx.verifier.prime?.();
          plane = await startTokenPlane({
            binary: opts.tokenPlane.binary,
            nodeUrl: url,
            host: opts.tokenPlane.host ?? l.host ?? '127.0.0.1',
            port: opts.tokenPlane.port,
            state: planeState,
            metrics: ctx.metrics,
            tokens: ctx.tokens,
            log,
          });
        }
        return url;
      },
      async close() {
        for (const t of timers) clearInterval(t);
        await plane?.stop();
        await rotation;
        await app.close();
        store.close();
        if (ownPool) await pool.end();
        else pool.off('error', onPoolError);
      },
    };
  } catch (err) {
    for (const t of timers) clearInterval(t);
    await app.close().catch(() => {});
    if (ownPool) await pool.end().catch(() => {});
    throw err;
  }
}
