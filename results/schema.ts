import type { RunMode } from '../system/protocol/modes.js';

/**
 * results.json, schemaVersion 1 (DESIGN.md §4). Fields marked "extension" are additive to the
 * design's schema and documented in docs/ARCHITECTURE.md; readers must tolerate their absence.
 * Latencies are integers in microseconds, measured, never rounded to milliseconds.
 */
export interface Results {
  schemaVersion: 1;
  study: StudyInfo;
  /** Extension: what the engine itself costs against a null endpoint. */
  harnessFloor?: HarnessFloor[];
  runs: RunRecord[];
  comparisons: Comparison[];
  tokenStorm: TokenStormRecord[];
  /** Extension: the replication of a published mean-only study (scenario `replication`). */
  replication?: ReplicationRecord[];
}

export interface StudyInfo {
  id: string;
  startedAt: string;
  finishedAt: string;
  platform: 'local' | 'kind';
  engine: 'autocannon' | 'k6';
  design: 'interleaved' | 'sequential';
  pairs: number;
  trials: number;
  /** Extension: seed of the trial shuffle, so a design can be replayed. */
  seed?: number;
  /** Extension: scenarios run. */
  scenarios?: string[];
  /** Extension: whether `--quick` was given. */
  quick?: boolean;
  git: { commit: string | null; dirty: boolean | null };
  env: { cpus: number; cpuModel: string; memGiB: number; node: string; os: string };
}

export interface LatencySummaryUs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  count: number;
  /** HdrHistogram, compressed base64 encoding (hdr-histogram-js `encodeIntoCompressedBase64`). */
  hdr: string;
}

export interface RunRecord {
  id: string;
  scenario: string;
  mode: RunMode;
  pair: number;
  trial: number;
  engine: 'autocannon' | 'k6';
  model: 'open' | 'closed';
  /** Target arrival rate (requests/s) for open loop or autocannon's rate limit; null when unlimited. */
  rate: number | null;
  connections: number;
  durationS: number;
  warmupS: number;
  requests: { ok: number; errors: Record<string, number> };
  latencyUs: LatencySummaryUs;
  serverTimingUs: Record<string, { p50: number; p99: number }>;
  valid: boolean;
  invalidReason: string | null;
  /** Extension: measured throughput of successful requests after warm-up, requests/s. */
  throughputRps?: number;
  /** Extension: one point per interval after warm-up, for latency/throughput-over-time plots. */
  timeline?: TimelinePoint[];
}

export interface TimelinePoint {
  /** Milliseconds since the measured part of the run began. */
  tMs: number;
  /** Successful responses per second in this interval. */
  rps: number;
  p50Us: number;
  p99Us: number;
}

export interface Comparison {
  scenario: string;
  baseline: RunMode;
  candidate: RunMode;
  stat: 'p50' | 'p99';
  /** Median over trials of (candidate − baseline) of the per-run statistic, µs. */
  deltaUs: number;
  ci95Us: [number, number];
  pValue: number;
  /** True when the CI excludes zero. */
  significant: boolean;
  /** Extension: number of paired trials behind the comparison. */
  n?: number;
}

export interface TokenStormRecord {
  policy: string;
  services: number;
  ttlS: number;
  issued: number;
  failed: number;
  peakIdpRps: number;
  meanIdpRps: number;
  timeToAllTokensMs: number;
  /** [milliseconds since start, IdP requests/s in that bucket] */
  idpRpsSeries: [number, number][];
}

export interface HarnessFloor {
  engine: 'autocannon' | 'k6';
  p50Us: number;
  p99Us: number;
  maxRps: number;
  connections: number;
  durationS: number;
}

export interface ReplicationRecord {
  query: 'light' | 'heavy';
  /** Requests per repetition. */
  requests: number;
  repetitions: number;
  workers: number;
  /** Per auth setting: mean and quantiles (µs) pooled over repetitions via merged histograms. */
  byAuth: Record<'on' | 'off', { meanUs: number; p50Us: number; p99Us: number; perRepMeanUs: number[]; perRepP50Us: number[] }>;
  /** on − off of the per-repetition mean, with a bootstrap CI over repetitions. */
  meanDeltaUs: number;
  meanDeltaCi95Us: [number, number];
  p50DeltaUs: number;
  p50DeltaCi95Us: [number, number];
  /** (on − off) / off of the mean, as the published study reported it (e.g. 0.27 for 27%). */
  meanRelative: number;
}
