import { Type } from '@sinclair/typebox';
import type { Static, TLiteral, TUnion } from '@sinclair/typebox';
import { RUN_MODES } from '../system/protocol/modes.js';

/**
 * results.json, schemaVersion 1 (docs/DESIGN.md §4), as one TypeBox schema: `validateResults` checks files
 * against it and the exported types are `Static<>` of it, so the two cannot drift. Fields marked
 * "extension" are additive to the design's schema and documented in docs/DESIGN.md §4; readers
 * must tolerate their absence. Unknown fields are allowed, so a newer writer does not break an older
 * reader (schemaVersion is what signals a breaking change). Latencies are integers in microseconds,
 * measured, never rounded to milliseconds.
 */

/** Load generators authlab drives (`--engine`, `study.engine`, `runs[].engine`, scenarios' `engines`). */
export const ENGINE_NAMES = ['autocannon', 'k6'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/** Platforms a study can run on (`study.platform`); kube and kind are coming, local is built. */
export const PLATFORM_NAMES = ['local', 'kube', 'kind'] as const;
export type PlatformName = (typeof PLATFORM_NAMES)[number];

/** Study designs (`--design`, `study.design`). */
export const DESIGN_NAMES = ['interleaved', 'sequential'] as const;
export type DesignName = (typeof DESIGN_NAMES)[number];

/** A union of string literals built from a list defined once elsewhere (modes, engines, platforms). */
function literalUnion<T extends string>(values: readonly T[]): TUnion<TLiteral<T>[]> {
  return Type.Union(values.map((v) => Type.Literal(v))) as TUnion<TLiteral<T>[]>;
}

/**
 * Per-request figures the engines derive from Server-Timing and record beside the sidecar's own
 * stages in `runs[].serverTimingUs` (runner/engines/histogram.ts `derivedStages`): `auth` = sign +
 * verify, `in-sidecar` = all time inside the two sidecars but the database and the hop between them.
 * Not parts of a request: reports keep them out of the stage breakdown.
 */
export const DERIVED_STAGE = { auth: 'auth', inSidecar: 'in-sidecar' } as const;

/**
 * Server-Timing entries that carry CPU time rather than wall-clock time: `sign-cpu` (caller),
 * `verify-cpu` (target; `peer-verify-cpu` through the caller). Each sidecar measures one request in
 * each block of eight, at a random place (larger blocks above 400 req/s: system/sidecar/server-timing.ts);
 * such a response is recorded only in its CPU entries.
 */
export const isCpuStage = (name: string): boolean => name.endsWith('-cpu');

/** The wall-clock auth stages: a run that carries one ran auth. */
export const AUTH_STAGES = ['sign', 'verify', 'peer-verify'] as const;

/** The CPU entries whose per-run p50s add up to the `in-band-auth-cpu` figure: the auth stages' twins. */
export const AUTH_CPU_STAGES = ['sign-cpu', 'verify-cpu', 'peer-verify-cpu'] as const;

const Num = Type.Number();
const Ci95 = Type.Tuple([Num, Num]);
const RunModeSchema = literalUnion(RUN_MODES);
const EngineSchema = literalUnion(ENGINE_NAMES);

export const StudyInfoSchema = Type.Object({
  id: Type.String(),
  startedAt: Type.String(),
  finishedAt: Type.String(),
  platform: literalUnion(PLATFORM_NAMES),
  engine: EngineSchema,
  design: literalUnion(DESIGN_NAMES),
  pairs: Num,
  trials: Num,
  /** Extension: seed of the trial shuffle, so a design can be replayed. */
  seed: Type.Optional(Num),
  /** Extension: scenarios run. */
  scenarios: Type.Optional(Type.Array(Type.String())),
  /** Extension: whether `--quick` was given. */
  quick: Type.Optional(Type.Boolean()),
  /**
   * Extension: µs busy-waited in enforce's verify stage (`--calibrate`); comparisons and estimates
   * then include observe → enforce, whose true value is exactly this.
   */
  calibrateUs: Type.Optional(Num),
  /**
   * Extension: `go` when outbound calls (`/call`) went through each sidecar's Go data plane
   * (`--data-plane go`); absent when the Node sidecar served them.
   */
  dataPlane: Type.Optional(Type.Literal('go')),
  /** Extension: an A/A study (`--aa`): observe and enforce were configured exactly like off. */
  aa: Type.Optional(Type.Boolean()),
  /**
   * Extension: k6 ran as this many pods in the cluster (`--k6-runners N`), each taking one execution
   * segment of every run; absent when the engine ran on the runner's host.
   */
  k6Runners: Type.Optional(Num),
  /**
   * Extension: the host's state over the study (CI width tracks the load average): load average
   * [1, 5, 15 min] at start and end, the highest 1-minute value at any run boundary, steal time
   * (% of CPU time, /proc/stat), frequency governor and CPU affinity where readable, and what was
   * done about pinning the load generator and the system under test apart.
   */
  machine: Type.Optional(
    Type.Object({
      cores: Num,
      loadAvgStart: Type.Array(Num),
      loadAvgEnd: Type.Array(Num),
      loadAvg1mMax: Num,
      stealPct: Type.Union([Num, Type.Null()]),
      governor: Type.Union([Type.String(), Type.Null()]),
      affinity: Type.Union([Type.String(), Type.Null()]),
      pinning: Type.String(),
    }),
  ),
  git: Type.Object({ commit: Type.Union([Type.String(), Type.Null()]), dirty: Type.Union([Type.Boolean(), Type.Null()]) }),
  /** `kubernetes`: extension, the cluster's version on the kube platform (e.g. `v1.34.4`). */
  env: Type.Object({
    cpus: Num,
    cpuModel: Type.String(),
    memGiB: Num,
    node: Type.String(),
    os: Type.String(),
    kubernetes: Type.Optional(Type.String()),
  }),
});
export type StudyInfo = Static<typeof StudyInfoSchema>;

export const LatencySummaryUsSchema = Type.Object({
  p50: Num,
  p90: Num,
  p99: Num,
  p999: Num,
  max: Num,
  mean: Num,
  count: Num,
  /** HdrHistogram, compressed base64 encoding (hdr-histogram-js `encodeIntoCompressedBase64`). */
  hdr: Type.String(),
});
export type LatencySummaryUs = Static<typeof LatencySummaryUsSchema>;

export const TimelinePointSchema = Type.Object({
  /** Milliseconds since the measured part of the run began. */
  tMs: Num,
  /** Successful responses per second in this interval. */
  rps: Num,
  p50Us: Num,
  p99Us: Num,
});
export type TimelinePoint = Static<typeof TimelinePointSchema>;

export const RunRecordSchema = Type.Object({
  id: Type.String(),
  scenario: Type.String(),
  mode: RunModeSchema,
  pair: Num,
  trial: Num,
  engine: EngineSchema,
  model: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
  /** Target arrival rate (requests/s) for open loop or autocannon's rate limit; null when unlimited. */
  rate: Type.Union([Num, Type.Null()]),
  connections: Num,
  durationS: Num,
  warmupS: Num,
  requests: Type.Object({ ok: Num, errors: Type.Record(Type.String(), Num) }),
  latencyUs: LatencySummaryUsSchema,
  /** Per stage (and derived figure, `DERIVED_STAGE`): quantiles and, as an extension, the mean, µs. */
  serverTimingUs: Type.Record(Type.String(), Type.Object({ p50: Num, p99: Num, mean: Type.Optional(Num) })),
  valid: Type.Boolean(),
  invalidReason: Type.Union([Type.String(), Type.Null()]),
  /** Extension: measured throughput of successful requests after warm-up, requests/s. */
  throughputRps: Type.Optional(Num),
  /** Extension: one point per interval after warm-up, for latency/throughput-over-time plots. */
  timeline: Type.Optional(Type.Array(TimelinePointSchema)),
  /**
   * Extension: `latency` when the run is invalid only because it delivered < 95% of its schedule:
   * left out of latency comparisons, but its in-band and CPU figures (per request served) are used
   * by `estimates[]`.
   */
  invalidFor: Type.Optional(Type.Literal('latency')),
  /** Extension: the host's 1-minute load average when the run's step began. */
  loadAvg1m: Type.Optional(Num),
  /**
   * Extension: CPU the run cost, from the processes' CPU counters (/proc/<pid>/task/<tid>/schedstat, ns, summed over threads)
   * read at the end of the warm-up and at the end of the run (`windowS` present; older files: over
   * the whole step, warm-up included, and `requests` counted warm-up too).
   */
  cpu: Type.Optional(
    Type.Object({
      /** CPU time of the pair's two sidecars over the window, µs. */
      sidecarUs: Num,
      /** Responses to the requests started in the window (older files: over the step, warm-up included). */
      requests: Num,
      /** sidecarUs / requests: CPU µs per request; ÷ 1000 = vCPU per 1,000 requests/s. */
      sidecarUsPerRequest: Num,
      /** CPU time of the IdP over the window, µs (shared by every pair of the step). */
      idpUs: Type.Optional(Num),
      /** Seconds the counters covered: the measured window (absent in files that counted the whole step). */
      windowS: Type.Optional(Num),
    }),
  ),
});
export type RunRecord = Static<typeof RunRecordSchema>;

export const ComparisonSchema = Type.Object({
  scenario: Type.String(),
  baseline: RunModeSchema,
  candidate: RunModeSchema,
  stat: Type.Union([Type.Literal('p50'), Type.Literal('p99')]),
  /** Median over trials of (candidate − baseline) of the per-run statistic, µs. */
  deltaUs: Num,
  ci95Us: Ci95,
  pValue: Num,
  /**
   * True when the CI excludes zero and p < 0.05 (`isSignificantDifference` in results/stats); when
   * `pAdjusted` is present, that adjusted p is the one compared with 0.05.
   */
  significant: Type.Boolean(),
  /** Extension: number of paired trials behind the comparison. */
  n: Type.Optional(Num),
  /**
   * Extension: `pValue` after Holm's adjustment across the study's whole family of comparisons
   * (`comparisons[]` and `estimates[]` together); `significant` is judged on it.
   */
  pAdjusted: Type.Optional(Num),
});
export type Comparison = Static<typeof ComparisonSchema>;

/** Auth-cost estimators beside the end-to-end comparisons (`estimates[].estimator`). */
export const ESTIMATOR_NAMES = ['in-band-auth', 'in-band-sidecar', 'in-band-auth-cpu', 'cpu'] as const;
export type EstimatorName = (typeof ESTIMATOR_NAMES)[number];

/**
 * Extension: one auth-cost estimate of one comparison by one estimator, paired by trial like a
 * comparison (median of per-trial differences, bootstrap CI over trials, exact signed-rank p), in
 * the estimator's own unit:
 * - `in-band-auth` (µs): per-request `auth` Server-Timing figure (sign + verify), per-run p50;
 * - `in-band-sidecar` (µs): per-request `in-sidecar` figure (all time inside the two sidecars but
 *   the database and the hop), per-run p50;
 * - `in-band-auth-cpu` (CPU µs per request): the sidecar processes' CPU time read around the sign and
 *   verify stages, per-run p50 of `sign-cpu` plus that of `(peer-)verify-cpu` (each side samples its
 *   own requests, so the two are not of the same request; 0 with auth off);
 * - `cpu` (CPU µs per request): the pair's two sidecar processes' CPU time over the run's measured window
 *   divided by the requests they served; ÷ 1000 = vCPU per 1,000 requests/s.
 */
export const EstimateSchema = Type.Object({
  scenario: Type.String(),
  baseline: RunModeSchema,
  candidate: RunModeSchema,
  estimator: literalUnion(ESTIMATOR_NAMES),
  unit: Type.Union([Type.Literal('us'), Type.Literal('cpu-us-per-request')]),
  /** Medians over trials of the per-run figure, in `unit`. */
  baselineValue: Num,
  candidateValue: Num,
  /** Median over trials of (candidate − baseline), in `unit`. */
  delta: Num,
  ci95: Ci95,
  pValue: Num,
  /** Holm-adjusted across the study's family (comparisons and estimates together). */
  pAdjusted: Type.Optional(Num),
  significant: Type.Boolean(),
  n: Num,
});
export type Estimate = Static<typeof EstimateSchema>;

export const TokenStormRecordSchema = Type.Object({
  policy: Type.String(),
  services: Num,
  ttlS: Num,
  issued: Num,
  failed: Num,
  /**
   * Highest and mean IdP responses/s (1-s buckets) over the steady window: from the end of the cold start
   * plus the scenario's settling lifetimes (two in a full study, none in a quick one) — never the cold start.
   */
  peakIdpRps: Num,
  meanIdpRps: Num,
  /** From the start until every service held a token; services ÷ this is the cold start's rate. */
  timeToAllTokensMs: Num,
  /** [milliseconds since start, IdP requests/s in that bucket], from the end of the cold start on */
  idpRpsSeries: Type.Array(Type.Tuple([Num, Num])),
  /**
   * Whose IdP took the storm: `dedicated` (one started for the storm on the runner's host; the local
   * platform) or `platform` (the platform's own, e.g. the IdP pod on kube). Absent in older files.
   */
  idp: Type.Optional(Type.Union([Type.Literal('dedicated'), Type.Literal('platform')])),
});
export type TokenStormRecord = Static<typeof TokenStormRecordSchema>;

export const HarnessFloorSchema = Type.Object({
  engine: EngineSchema,
  p50Us: Num,
  p99Us: Num,
  maxRps: Num,
  connections: Num,
  durationS: Num,
});
export type HarnessFloor = Static<typeof HarnessFloorSchema>;

const AuthSideSchema = Type.Object({
  meanUs: Num,
  p50Us: Num,
  p99Us: Num,
  perRepMeanUs: Type.Array(Num),
  perRepP50Us: Type.Array(Num),
});

export const ReplicationRecordSchema = Type.Object({
  query: Type.Union([Type.Literal('light'), Type.Literal('heavy')]),
  /** Requests per repetition. */
  requests: Num,
  repetitions: Num,
  workers: Num,
  /** Per auth setting: mean and quantiles (µs) pooled over repetitions via merged histograms. */
  byAuth: Type.Object({ on: AuthSideSchema, off: AuthSideSchema }),
  /** on − off of the per-repetition mean, with a bootstrap CI over repetitions. */
  meanDeltaUs: Num,
  meanDeltaCi95Us: Ci95,
  p50DeltaUs: Num,
  p50DeltaCi95Us: Ci95,
  /** (on − off) / off of the mean, as the published study reported it (e.g. 0.27 for 27%). */
  meanRelative: Num,
});
export type ReplicationRecord = Static<typeof ReplicationRecordSchema>;

/** Requests of one phase of a fault run (before, during or after the fault). */
export const FaultPhaseSchema = Type.Object({
  sent: Num,
  ok: Num,
  /** Failed requests by HTTP status (`"503"`), or `"timeout"` / `"network"` when no response came. */
  failed: Type.Record(Type.String(), Num),
});
export type FaultPhase = Static<typeof FaultPhaseSchema>;

/** One target a fault scenario is held to, with what was measured. */
export const FaultTargetSchema = Type.Object({
  /** What must hold, in words (`0 failed requests while tokens are valid`). */
  target: Type.String(),
  met: Type.Boolean(),
  /** The measured figure(s) the verdict rests on. */
  measured: Type.String(),
});
export type FaultTarget = Static<typeof FaultTargetSchema>;

/**
 * Extension (issue 15): one fault scenario's run: steady load at one pair (enforce) while the fault
 * is injected. Times are ms since the run's first request.
 */
export const FaultRecordSchema = Type.Object({
  scenario: Type.String(),
  /** What was done, in words (`SIGKILL of the IdP (pid 1234), restarted after 3 s`). */
  fault: Type.String(),
  pair: Num,
  mode: RunModeSchema,
  rateRps: Num,
  connections: Num,
  startedAt: Type.String(),
  durationMs: Num,
  faultStartMs: Num,
  /** The fault is over: the component is back (ready), or the admin action and its settle time are done. */
  faultEndMs: Num,
  /** db-restart: when the database accepted connections again (a probe connecting every 20 ms). */
  dbAcceptingMs: Type.Optional(Type.Union([Num, Type.Null()])),
  /** Completion of the last failed request at or after the fault's start; null when none failed. */
  lastFailureMs: Type.Union([Num, Type.Null()]),
  /**
   * Time to recover, ms: from the fault's end (db-restart: from the database accepting connections)
   * to the last failed request's completion; 0 when nothing failed after that point; null when
   * requests were still failing when the run ended.
   */
  timeToRecoverMs: Type.Union([Num, Type.Null()]),
  phases: Type.Object({ before: FaultPhaseSchema, during: FaultPhaseSchema, after: FaultPhaseSchema }),
  /** Whether any request was refused for an expired token, or a sidecar held none during the run. */
  tokenLapsed: Type.Boolean(),
  targets: Type.Array(FaultTargetSchema),
  /** Platform supervision events during the run (`idp exited (signal SIGKILL)`). */
  events: Type.Array(Type.String()),
  /**
   * Every request, as parallel arrays: start (ms since the run's first request), HTTP status (0: no
   * response) and latency (µs, integer).
   */
  requestLog: Type.Object({ tMs: Type.Array(Num), status: Type.Array(Num), latencyUs: Type.Array(Num) }),
});
export type FaultRecord = Static<typeof FaultRecordSchema>;

export const ResultsSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  study: StudyInfoSchema,
  /** Extension: what the engine itself costs against a null endpoint. */
  harnessFloor: Type.Optional(Type.Array(HarnessFloorSchema)),
  runs: Type.Array(RunRecordSchema),
  comparisons: Type.Array(ComparisonSchema),
  tokenStorm: Type.Array(TokenStormRecordSchema),
  /** Extension: the replication of a published mean-only study (scenario `replication`). */
  replication: Type.Optional(Type.Array(ReplicationRecordSchema)),
  /** Extension: auth-cost estimates by the in-band and CPU estimators (see `EstimateSchema`). */
  estimates: Type.Optional(Type.Array(EstimateSchema)),
  /** Extension: fault scenarios (idp-outage, refresh-under-load, key-rotation, db-restart). */
  faults: Type.Optional(Type.Array(FaultRecordSchema)),
});
export type Results = Static<typeof ResultsSchema>;
