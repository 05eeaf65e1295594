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
  /** `sidecar_data_plane_restarts_total`: the Go data plane exited on its own and was started again (only with one). */
  sidecarDataPlaneRestartsTotal: 'sidecar_data_plane_restarts_total',
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

/**
 * The runner's own live series (docs/DESIGN.md §3 "Live view"), served on its `/metrics` while a study or
 * `up` runs: what Prometheus scrapes and the live page reads (one source of truth).
 */
export const RUNNER_METRICS = {
  /** Counter `{scenario, mode, pair, outcome}`: responses the load generator received; outcome `ok`, `http_4xx`, `http_5xx`, `timeout`, `connection`. */
  loadResponsesTotal: 'authlab_load_responses_total',
  /** Histogram `{scenario, mode}`: 2xx response time seen by the load generator, seconds (LIVE_BUCKETS_SECONDS). */
  loadLatencySeconds: 'authlab_load_latency_seconds',
  /** Gauge `{scenario}`: the last trial started of each scenario so far (1-based). */
  studyTrial: 'authlab_study_trial',
  /** Gauge `{scenario}`: trials planned for each scenario so far. */
  studyTrials: 'authlab_study_trials',
  /** Gauge `{phase}`: 1 for the phase in progress (a single series). */
  studyPhase: 'authlab_study_phase',
  /** Gauge: estimated seconds left in the current scenario's trials (absent before one trial ended). */
  studyRemainingSeconds: 'authlab_study_remaining_seconds',
  /** Counter `{policy}`: token-exchange responses the storm's IdP gave, per refresh policy. */
  stormIdpResponsesTotal: 'authlab_storm_idp_responses_total',
  /** Gauge `{service, database}`: pg_database_size of a service's database, bytes. */
  pgDatabaseBytes: 'authlab_pg_database_bytes',
  /** Gauge `{service, database, table}`: pg_total_relation_size of each user table, bytes. */
  pgTableBytes: 'authlab_pg_table_bytes',
  /** Gauge `{service, database, state}`: backends of a service's database in pg_stat_activity, by state. */
  pgConnections: 'authlab_pg_connections',
} as const;

/** `authlab_load_responses_total{outcome}` values; every one is created at 0 when a run starts. */
export const LOAD_OUTCOMES = ['ok', 'http_4xx', 'http_5xx', 'timeout', 'connection'] as const;
export type LoadOutcome = (typeof LOAD_OUTCOMES)[number];

/**
 * Buckets of the runner's live latency histogram, seconds: 24 per decade (each 10% wider than the last)
 * from 10 µs to 10 s, so `histogram_quantile` resolves ±5% at any scale — tens of µs around a 1 ms p50.
 */
export const LIVE_BUCKETS_SECONDS: readonly number[] = Array.from({ length: 6 * 24 + 1 }, (_, i) =>
  Number((1e-5 * 10 ** (i / 24)).toPrecision(4)),
);
