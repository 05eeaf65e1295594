import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { bindCounter, bindHistogram, perKey } from '../protocol/bound-metrics.js';
import { collectDefaultProcessMetrics } from '../runtime/default-metrics.js';
import { LATENCY_BUCKETS_SECONDS, METRICS, type VerifyResult } from '../protocol/metrics.js';
import type { SignMode, VerifyMode } from '../protocol/modes.js';

/** Direction of a sidecar request: `inbound` /query, `outbound` /call/<target>/query. */
export type Direction = 'inbound' | 'outbound';

/** The sidecar's metrics on its own registry; every series carries `service` and `pair`. */
export interface SidecarMetrics {
  registry: Registry;
  verified(result: VerifyResult): void;
  signed(result: SignResult): void;
  tokenIssued(result: 'ok' | 'network' | 'server' | 'throttled' | 'client', durationSeconds: number): void;
  tokenAlert(on: boolean): void;
  /** @param seconds wall time of the whole request */
  request(direction: Direction, query: string, verifyMode: VerifyMode, signMode: SignMode, seconds: number): void;
  /** Adds outbound requests the Go data plane served (per-bucket counts as bound-metrics.ts `add`). */
  addOutbound(query: string, verifyMode: VerifyMode, signMode: SignMode, buckets: readonly number[], sum: number, count: number): void;
  /** Adds `n` signing outcomes the Go data plane counted. */
  addSigned(result: SignResult, n: number): void;
  db(query: string, seconds: number): void;
  /** The query cache's outcome (`heavy-cached`: hit or miss; `write`: invalidated; Redis failed: error). */
  cache(result: CacheResult): void;
}

export const SIGN_RESULTS = ['ok', 'no_token', 'skipped', 'no_grant', 'observe_no_grant'] as const;
export type SignResult = (typeof SIGN_RESULTS)[number];

export type CacheResult = 'hit' | 'miss' | 'invalidated' | 'error';

export interface MetricsOptions {
  service: string;
  pair: number;
  /** Returns the database size in bytes, read at scrape time. */
  databaseSize?: () => Promise<number>;
  defaultMetrics?: boolean;
}

export function createSidecarMetrics(options: MetricsOptions): SidecarMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service, pair: String(options.pair) });
  if (options.defaultMetrics !== false) collectDefaultProcessMetrics(registry);

  const verified = new Counter({
    name: METRICS.authVerifiedTotal,
    help: 'Inbound token checks by outcome',
    labelNames: ['result'],
    registers: [registry],
  });
  const signed = new Counter({
    name: METRICS.authSignedTotal,
    help: 'Outbound calls by signing outcome',
    labelNames: ['result'],
    registers: [registry],
  });
  const issued = new Counter({
    name: METRICS.tokenIssuedTotal,
    help: "The sidecar's own token fetches by result",
    labelNames: ['result'],
    registers: [registry],
  });
  const fetchDuration = new Histogram({
    name: METRICS.tokenFetchDurationSeconds,
    help: 'Token exchange wall time, seconds',
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const alert = new Gauge({
    name: METRICS.tokenFetchAlert,
    help: '1 while the IdP refuses this sidecar (4xx on token exchange)',
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: METRICS.sidecarRequestDurationSeconds,
    help: 'Sidecar request wall time, seconds',
    labelNames: ['direction', 'query', 'verify_mode', 'sign_mode'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const dbDuration = new Histogram({
    name: METRICS.dbQueryDurationSeconds,
    help: 'Database time per named query, seconds',
    labelNames: ['query'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const sizeFn = options.databaseSize;
  new Gauge({
    name: METRICS.pgDatabaseSizeBytes,
    help: "Size of the service's own database, bytes",
    registers: [registry],
    async collect() {
      if (!sizeFn) return;
      try {
        this.set(await sizeFn());
      } catch {
        // A scrape must not fail because the database is down; readiness reports that.
      }
    },
  });

  const cacheTotal = new Counter({
    name: METRICS.queryCacheTotal,
    help: 'Query cache outcomes: heavy-cached hit or miss, invalidated by write, error (Redis unreachable: served from PostgreSQL).',
    labelNames: ['result'],
    registers: [registry],
  });

  // prom-client's own children hash their label set on every call; bound children do it once
  // (protocol/bound-metrics.ts), one per label combination, found without building a key per request.
  const verifiedChild = perKey((result: VerifyResult) => bindCounter(verified, { result }));
  const signedChild = perKey((result: string) => bindCounter(signed, { result }));
  const cacheChild = perKey((result: CacheResult) => bindCounter(cacheTotal, { result }));
  const requestChild = perKey((direction: Direction) =>
    perKey((query: string) =>
      perKey((verifyMode: VerifyMode) =>
        perKey((signMode: SignMode) => bindHistogram(requestDuration, { direction, query, verify_mode: verifyMode, sign_mode: signMode })),
      ),
    ),
  );
  const dbChild = perKey((query: string) => bindHistogram(dbDuration, { query }));

  return {
    registry,
    verified: (result) => verifiedChild(result).inc(),
    signed: (result) => signedChild(result).inc(),
    tokenIssued(result, seconds) {
      issued.labels(result).inc();
      fetchDuration.observe(seconds);
    },
    tokenAlert: (on) => alert.set(on ? 1 : 0),
    request: (direction, query, verifyMode, signMode, seconds) => requestChild(direction)(query)(verifyMode)(signMode).observe(seconds),
    addOutbound: (query, verifyMode, signMode, buckets, sum, count) =>
      requestChild('outbound')(query)(verifyMode)(signMode).add(buckets, sum, count),
    addSigned: (result, n) => signedChild(result).add(n),
    cache: (result) => cacheChild(result).inc(),
    db: (query, seconds) => dbChild(query).observe(seconds),
  };
}
