/** Prometheus metric names (docs/DESIGN.md §2). Dashboards and reports rely on these: change with care. */
export const METRICS = {
  // IdP
  tokenResultTotal: 'token_result_total',
  tokenIssueDurationSeconds: 'token_issue_duration_seconds',
  tokenExchangeInflight: 'token_exchange_inflight',
  // sidecar
  authSignedTotal: 'auth_signed_total',
  authVerifiedTotal: 'auth_verified_total',
  tokenIssuedTotal: 'token_issued_total',
  tokenFetchDurationSeconds: 'token_fetch_duration_seconds',
  tokenFetchAlert: 'token_fetch_alert',
  sidecarRequestDurationSeconds: 'sidecar_request_duration_seconds',
  dbQueryDurationSeconds: 'db_query_duration_seconds',
  pgDatabaseSizeBytes: 'pg_database_size_bytes',
  /** `query_cache_total{result}`: hit, miss, invalidated (a `write` dropped the cached results), error. */
  queryCacheTotal: 'query_cache_total',
} as const;

/** `auth_verified_total{result}` values. */
export type VerifyResult =
  | 'ok'
  | 'observe_denied'
  | 'missing'
  | 'malformed'
  | 'bad_alg'
  | 'invalid_signature'
  | 'unknown_kid'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'revoked'
  | 'lifetime'
  | 'ambiguous'
  | 'forbidden'
  | 'skipped';

/** Latency buckets (seconds) fine enough for microsecond-scale auth costs. */
export const LATENCY_BUCKETS_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
