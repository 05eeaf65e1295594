import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { SidecarConfig } from './config.js';
import type { SidecarContext } from './context.js';
import { createServiceDatabase, type ServiceDatabase } from './db/database.js';
import { withQueryCache } from './cache/query-cache.js';
import { clientErrorHandler, frameworkErrors, installErrorHandlers } from './http/errors.js';
import { BODY_LIMIT, fastPath } from './http/fast-path.js';
import { fastServerFactory } from '../runtime/fast-http.js';
import { installJsonParser } from './http/json-body.js';
import { startDataPlane, type DataPlane } from './data-plane.js';
import { createIdpLink, type IdpLink } from './idp-link.js';
import { createSidecarMetrics, type SidecarMetrics } from './metrics.js';
import { ITEM_ROWS } from './query-catalogue.js';
import { callRoute } from './routes/call.js';
import { registerLocalRoutes } from './routes/local.js';
import { queryRoute } from './routes/query.js';
import { createSettingsState, type SettingsState } from './settings/settings-state.js';
import type { Clock } from './token/token-source.js';
import { createRevocationList } from './verify/revocations.js';
import { createVerifyCache } from './verify/verify-cache.js';
import { PG_STATS_INTERVAL_MS, registerPgStats } from '../runtime/pg-stats.js';

/** How long an idle keep-alive connection stays open, ms. */
export const KEEP_ALIVE_MS = 65_000;

/** Config plus knobs for tests and studies. */
export interface SidecarOptions extends SidecarConfig {
  clock?: Clock;
  /** Clock skew allowed on exp/nbf/iat, seconds. Default 10. */
  skewSeconds?: number;
  /** Minimum gap between JWKS re-fetches caused by unknown kids, ms. Default 10 s. */
  jwksMinRefetchIntervalMs?: number;
  /** Verified-token cache bound. Default 10,000. */
  verifyCacheEntries?: number;
  /** Database connections. Default 10. */
  dbPoolSize?: number;
  /** Rows seeded into `items` when empty. Default 10,000. */
  seedRows?: number;
  /** Fastify logger (default off: logging every request would dominate the cost being measured). */
  logger?: boolean;
  /** Operational messages (IdP reachability, stream state). Default: stderr. */
  log?: (msg: string) => void;
  random?: () => number;
}

export interface Sidecar {
  app: FastifyInstance;
  /** Ensures the schema, listens, then connects to the IdP in the background. Resolves to the base URL. */
  start(): Promise<string>;
  /** Stops accepting, drains, closes peer pools, the IdP link and the database pool. */
  close(): Promise<void>;
  /** Base URL once listening. */
  url(): string | null;
  /** The Go data plane's outbound base URL once started (config `dataPlane`), else null. */
  dataPlaneUrl(): string | null;
  db: ServiceDatabase;
  settings: SettingsState;
  link: IdpLink;
  metrics: SidecarMetrics;
}

/** Builds a sidecar (docs/DESIGN.md §2 "Sidecar"); nothing listens or connects until `start()`. */
export function buildSidecar(options: SidecarOptions): Sidecar {
  const log = options.log ?? ((m: string) => process.stderr.write(`[sidecar ${options.service}] ${m}\n`));
  const pgDb = createServiceDatabase(options.databaseUrl, options.dbPoolSize ?? 10, log);
  const metrics = createSidecarMetrics({ service: options.service, pair: options.pair, databaseSize: () => pgDb.sizeBytes() });
  if (options.postgresStats) registerPgStats(metrics.registry, () => pgDb.pgStats(options.service), PG_STATS_INTERVAL_MS);
  const cached = options.redis
    ? withQueryCache(pgDb, { url: options.redis.url, prefix: options.redis.prefix, onResult: (r) => metrics.cache(r), log })
    : null;
  const db: ServiceDatabase = cached ?? pgDb;
  const cache = createVerifyCache(options.verifyCacheEntries ?? 10_000);
  const revocations = createRevocationList();
  let link: IdpLink | null = null;
  let dataPlane: DataPlane | null = null;
  // A push that fails is logged by the data plane's sync and retried by the next change.
  const syncDataPlane = () => void dataPlane?.sync().catch(() => {});
  const settings = createSettingsState({
    service: options.service,
    onRefreshRequested: () => {
      log('IdP asked for a token refresh');
      link
        ?.tokenSource()
        ?.forceRefresh()
        .catch((err: unknown) => log(`token refresh asked by the IdP failed: ${err instanceof Error ? err.message : String(err)}`));
    },
    onStale: (revision, applied) => log(`ignored settings revision ${revision}: revision ${applied} is applied already`),
    onApplied: syncDataPlane,
    onRevocations: (r) => {
      revocations.apply(r);
      // A revoked token must stop working at once, not when its cache entry would expire.
      cache.evict((v) => revocations.isRevoked(v.sub, v.jti, v.issuedAtMs));
    },
  });
  link = createIdpLink({
    service: options.service,
    idpUrl: options.idpUrl,
    saTokenPath: options.saTokenPath,
    ...(options.refreshPolicy ? { refreshPolicy: options.refreshPolicy } : {}),
    metrics,
    settings,
    revocations,
    cache,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.skewSeconds !== undefined ? { skewSeconds: options.skewSeconds } : {}),
    ...(options.jwksMinRefetchIntervalMs !== undefined ? { jwksMinRefetchIntervalMs: options.jwksMinRefetchIntervalMs } : {}),
    log,
    onToken: syncDataPlane,
  });

  const ctx: SidecarContext = {
    service: options.service,
    pair: options.pair,
    db,
    link,
    settings,
    metrics,
    localAdminToken: options.localAdminToken,
    peers: options.peers,
    random: options.random ?? Math.random,
    dataPlane: () => dataPlane,
    log,
  };
  // The data path's two routes, served by the fast path (plain node:http) for a plain JSON POST and by
  // fastify for everything else.
  const query = queryRoute(ctx);
  const { handler: call, pools } = callRoute(ctx);
  const fast = fastPath({ query, call, log });
  const app = Fastify({
    logger: options.logger ?? false,
    // fastify's own handler gets every request the fast path does not take (docs/ARCHITECTURE.md).
    serverFactory: fastServerFactory(fast),
    // Peers and load generators keep connections open; close idle ones only after a minute (Node's
    // default, 5 s, would close a peer's pooled connection between two calls of a slow study).
    keepAliveTimeout: KEEP_ALIVE_MS,
    bodyLimit: BODY_LIMIT,
    clientErrorHandler,
    frameworkErrors,
    forceCloseConnections: 'idle',
  });
  installErrorHandlers(app);
  installJsonParser(app);
  // Every response carries Server-Timing; routes that measure stages set their own first.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('server-timing')) reply.header('server-timing', `total;dur=${reply.elapsedTime.toFixed(3)}`);
    done(null, payload);
  });

  app.post<{ Params: { target?: string } }>('/query', query);
  app.post<{ Params: { target?: string } }>('/call/:target/query', call);
  registerLocalRoutes(app, ctx);

  let url: string | null = null;
  let closing: Promise<void> | null = null;
  const theLink = link;
  return {
    app,
    db,
    settings,
    link: theLink,
    metrics,
    url: () => url,
    dataPlaneUrl: () => dataPlane?.url ?? null,
    async start() {
      await db.ensureSchema(options.seedRows ?? ITEM_ROWS);
      await cached?.connect();
      await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
      const addr = app.server.address() as AddressInfo;
      url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
      theLink.start();
      if (options.dataPlane) {
        dataPlane = await startDataPlane({
          binary: options.dataPlane.binary,
          service: options.service,
          peers: options.peers,
          host: options.host ?? '127.0.0.1',
          ...(options.dataPlane.port !== undefined ? { port: options.dataPlane.port } : {}),
          metrics,
          state: () => {
            const s = settings.current();
            const held = theLink.tokenSource()?.current() ?? null;
            return { revision: s.revision, signMode: s.signMode, verifyMode: s.verifyMode, token: held };
          },
          log,
        });
        log(`data plane (pid ${dataPlane.pid}) serves outbound calls on ${dataPlane.url}`);
      }
      return url;
    },
    close() {
      closing ??= (async () => {
        await app.close();
        await dataPlane?.stop();
        await Promise.all([...pools.values()].map((p) => p.close()));
        await theLink.close();
        await db.close();
      })();
      return closing;
    },
  };
}
