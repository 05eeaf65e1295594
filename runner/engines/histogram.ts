import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { DERIVED_STAGE, isCpuStage, type TimelinePoint } from '../../results/schema.js';
import type { EngineResult } from './types.js';

/** Highest latency a run tracks, µs (10 minutes); higher values are clamped, never dropped. */
const HIGHEST_US = 600_000_000;

/** A microsecond histogram: 1 µs resolution, 3 significant digits. */
export function newHistogramUs(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, autoResize: true });
}

/**
 * Parses a `Server-Timing` header (`verify;dur=0.012, db;dur=0.4`) into [stage, µs] pairs.
 * Hand-rolled because it runs once per response on the load generator's event loop.
 */
export function parseServerTiming(header: string): [string, number][] {
  const out: [string, number][] = [];
  for (const part of header.split(',')) {
    const semi = part.indexOf(';');
    if (semi < 0) continue;
    const name = part.slice(0, semi).trim();
    const at = part.indexOf('dur=', semi);
    if (at < 0 || name === '') continue;
    const ms = Number.parseFloat(part.slice(at + 4));
    if (Number.isFinite(ms) && ms >= 0) out.push([name, Math.round(ms * 1000)]);
  }
  return out;
}

/**
 * The in-band auth-cost figures of one response, from its Server-Timing stages (µs), computed per
 * request because a sum of per-stage medians is not the median of the sum:
 * - `auth`: time in the auth stages — `sign` at the caller plus `verify` at the target (`peer-verify`
 *   through a caller; `verify` on the direct path); 0 when auth is off.
 * - `in-sidecar`: all time spent inside sidecars, excluding the database and the hop between them —
 *   `(total − upstream) + (peer-total − peer-db)` through a caller, `total − db` direct.
 * Null when the response carries no `total` (not a sidecar's answer).
 */
export function derivedStages(stages: readonly (readonly [string, number])[]): { auth: number; inSidecar: number } | null {
  let sign = 0;
  let verify = 0;
  let total: number | undefined;
  let upstream: number | undefined;
  let db = 0;
  let peerTotal: number | undefined;
  let peerDb = 0;
  for (const [name, us] of stages) {
    if (name === 'sign') sign = us;
    else if (name === 'verify' || name === 'peer-verify') verify += us;
    else if (name === 'total') total = us;
    else if (name === 'upstream') upstream = us;
    else if (name === 'db') db = us;
    else if (name === 'peer-total') peerTotal = us;
    else if (name === 'peer-db') peerDb = us;
  }
  if (total === undefined) return null;
  const inSidecar = upstream !== undefined ? total - upstream + (peerTotal !== undefined ? peerTotal - peerDb : 0) : total - db;
  return { auth: sign + verify, inSidecar: Math.max(0, inSidecar) };
}

/**
 * Folds per-request samples of one run into histograms, whatever engine produced them. Samples are
 * placed by their start time: a request issued during the warm-up is discarded even if it ends after.
 */
export class RunRecorder {
  readonly latency = newHistogramUs();
  readonly serverTiming: Record<string, Histogram> = {};
  ok = 0;
  /** Every response seen, warm-up included (what the target served while its CPU was sampled). */
  responses = 0;
  readonly errors: Record<string, number> = {};
  private readonly buckets: { count: number; hist: Histogram }[] = [];
  private lastEndMs = 0;

  /**
   * @param warmupMs samples starting before this offset (ms from run start) are discarded
   * @param endMs samples starting at or after this offset are discarded (Infinity: none)
   * @param onResponse sees every response, measured or not (the live series)
   */
  constructor(
    private readonly warmupMs: number,
    private readonly endMs = Number.POSITIVE_INFINITY,
    private readonly onResponse?: (latencyUs: number, status: number | string) => void,
  ) {}

  /** Whether a request starting at `startMs` (ms from run start) is measured. */
  measures(startMs: number): boolean {
    return startMs >= this.warmupMs && startMs < this.endMs;
  }

  /**
   * Records one response. `startMs` is from run start; `latencyUs` its response time; `status` the
   * HTTP status or a transport failure code; `serverTiming` the raw header, if any.
   */
  record(startMs: number, latencyUs: number, status: number | string, serverTiming?: string | null): void {
    this.responses++;
    this.onResponse?.(latencyUs, status);
    if (!this.measures(startMs)) return;
    const success = typeof status === 'number' && status >= 200 && status < 300;
    if (!success) {
      const key = String(status);
      this.errors[key] = (this.errors[key] ?? 0) + 1;
      return;
    }
    const us = Math.max(1, Math.round(latencyUs));
    this.ok++;
    this.latency.recordValue(us);
    const offsetMs = startMs - this.warmupMs;
    this.lastEndMs = Math.max(this.lastEndMs, offsetMs + us / 1000);
    const index = Math.floor(offsetMs / 1000);
    let bucket = this.buckets[index];
    if (!bucket) {
      bucket = { count: 0, hist: newHistogramUs() };
      this.buckets[index] = bucket;
    }
    bucket.count++;
    bucket.hist.recordValue(us);
    if (serverTiming) {
      const stages = parseServerTiming(serverTiming);
      // A response whose CPU was measured (`sign-cpu`, `peer-verify-cpu`: one request in eight per
      // sidecar) gives only that: reading the CPU clock lengthened its stages, so its times stay out.
      if (stages.some(([stage]) => isCpuStage(stage))) {
        for (const [stage, stageUs] of stages) if (isCpuStage(stage)) this.recordStage(stage, stageUs, 0);
        return;
      }
      for (const [stage, stageUs] of stages) this.recordStage(stage, stageUs);
      const derived = derivedStages(stages);
      if (derived) {
        this.recordStage(DERIVED_STAGE.auth, derived.auth, 0);
        this.recordStage(DERIVED_STAGE.inSidecar, derived.inSidecar, 0);
      }
    }
  }

  /**
   * Records one Server-Timing stage duration of a measured 2xx response, µs. `floorUs`: the least
   * value recorded (1 for measured stages, as latencies; 0 for derived ones, where 0 means "auth off").
   */
  recordStage(stage: string, us: number, floorUs = 1): void {
    let h = this.serverTiming[stage];
    if (!h) {
      h = newHistogramUs();
      this.serverTiming[stage] = h;
    }
    h.recordValue(Math.max(floorUs, Math.round(us)));
  }

  /**
   * 1-second points over the measured part; empty seconds appear with zero throughput, and a last
   * partial second is scaled by its width so its rps is comparable.
   */
  timeline(measuredS: number): TimelinePoint[] {
    const points: TimelinePoint[] = [];
    for (let i = 0; i < this.buckets.length; i++) {
      const b = this.buckets[i];
      const widthS = Math.min(1, Math.max(measuredS - i, 0.001));
      points.push({
        tMs: i * 1000,
        rps: b ? Math.round(b.count / widthS) : 0,
        p50Us: b ? b.hist.getValueAtPercentile(50) : 0,
        p99Us: b ? b.hist.getValueAtPercentile(99) : 0,
      });
      b?.hist.destroy();
    }
    return points;
  }

  /** Seconds measured: the planned window, or up to the last response for count-based runs. */
  measuredS(plannedS: number | null): number {
    if (plannedS !== null && Number.isFinite(plannedS)) return plannedS;
    return Math.max(this.lastEndMs / 1000, 0.001);
  }

  /**
   * The run's EngineResult, the same for every engine. Call once: it releases the per-second
   * histograms. `plannedS` is the planned measured window (null for count-based runs); a run is valid
   * unless the engine gives an `invalidReason`.
   */
  result(o: {
    model: EngineResult['model'];
    plannedS: number | null;
    warmupS: number;
    droppedIterations?: number;
    invalidReason?: string | null;
    /** Responses the engine saw but did not record here (k6's warm-up scenario). */
    uncountedResponses?: number;
  }): EngineResult {
    const measuredS = this.measuredS(o.plannedS);
    const invalidReason = o.invalidReason ?? null;
    return {
      model: o.model,
      latency: this.latency,
      ok: this.ok,
      errors: this.errors,
      serverTiming: this.serverTiming,
      timeline: this.timeline(measuredS),
      throughputRps: this.ok / measuredS,
      measuredS,
      warmupS: o.warmupS,
      droppedIterations: o.droppedIterations ?? 0,
      responses: this.responses + (o.uncountedResponses ?? 0),
      valid: invalidReason === null,
      invalidReason,
    };
  }
}
