import type { Histogram } from 'hdr-histogram-js';
import type { EngineName, TimelinePoint } from '../../results/schema.js';

/** One request body of a run's mix; bodies are chosen in proportion to `weight`. */
export interface EngineRequest {
  /** JSON body posted to the target (`{"query", "params"}`). */
  body: string;
  weight: number;
}

/** What one engine run drives: one target URL, one load shape. */
export interface EngineRunOptions {
  url: string;
  requests: readonly EngineRequest[];
  /** Connections (closed loop) or pre-allocated VUs (open loop). */
  connections: number;
  /** Requests/s: arrival rate (open loop) or rate limit (closed loop); null = unlimited. */
  rateRps: number | null;
  /** Measured seconds after the warm-up. Ignored when `requestCount` is set. */
  durationS: number;
  /** Seconds of load before measuring; their samples are discarded. */
  warmupS: number;
  /** Fixed number of requests instead of a duration (closed loop only; no warm-up). */
  requestCount?: number;
  /** k6 only: VUs of the open loop (default 50, all pre-allocated; at 200 req/s that rides out a 0.25 s stall); when all are busy k6 drops iterations. */
  maxVus?: number;
  /** k6 only: script path; relative to scenarios/k6/, default `generic.ts`. */
  k6Script?: string;
  signal?: AbortSignal;
  /**
   * Called for every response, warm-up included, with its time in µs and its HTTP status or transport
   * code (the runner's live series). autocannon calls it as responses arrive; k6 when its run ends.
   */
  onResponse?: (latencyUs: number, status: number | string) => void;
}

/** What an engine measured in one run; histograms are in microseconds. */
export interface EngineResult {
  model: 'open' | 'closed';
  /** Latency of 2xx responses issued after the warm-up, µs. Non-2xx never enter it. */
  latency: Histogram;
  ok: number;
  /** Non-2xx responses by status, and transport failures by code (`timeout`, `connection`). */
  errors: Record<string, number>;
  /** Server-Timing stages of 2xx responses, µs per stage. */
  serverTiming: Record<string, Histogram>;
  /** 1-second buckets of the measured part. */
  timeline: TimelinePoint[];
  /** Successful responses per second over the measured part. */
  throughputRps: number;
  /** Seconds actually measured (an engine may lengthen the planned duration; see its docs). */
  measuredS: number;
  /** Seconds of warm-up actually discarded. */
  warmupS: number;
  /** Iterations an open-loop engine could not start in time (k6 `dropped_iterations`). */
  droppedIterations: number;
  /** Every response of the run, warm-up included: what the target served (CPU per request). */
  responses?: number;
  valid: boolean;
  invalidReason: string | null;
}

/** A load generator. */
export interface Engine {
  readonly name: EngineName;
  readonly model: 'open' | 'closed';
  /** Null when the engine can run here; otherwise what is missing and how to fix it. */
  unavailable(): Promise<string | null>;
  run(options: EngineRunOptions): Promise<EngineResult>;
  /**
   * Several targets driven at the same time (a trial's pairs), one result per run in order. An
   * engine that runs out of process does this from one process; absent, callers run `run` in parallel.
   * All runs share the first run's signal and k6 script.
   */
  runMany?(runs: readonly EngineRunOptions[]): Promise<EngineResult[]>;
}
