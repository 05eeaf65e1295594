import type { RunMode } from '../../system/protocol/modes.js';
import { summarize } from '../../results/hdr.js';
import type { EngineName, RunRecord } from '../../results/schema.js';
import type { EngineResult } from '../engines/types.js';

/** Share of failed responses above which a run's latency no longer describes the planned load. */
export const MAX_ERROR_SHARE = 0.01;

/**
 * Share of a rate-driven run's scheduled requests (rate × measured seconds) that must be delivered:
 * a generator that falls behind skips exactly the slow periods, so its percentiles flatter the target.
 * The requests in flight when the window closes are allowed for: by Little's law rate × mean latency
 * of them, at least one (a 2 s window at 2 req/s schedules 4 ± 1 starts). For 1 ms point reads that is
 * one request; for heavy aggregates at 1 req/s that take ~1.1 s under overlap it is two (2 connections
 * delivered 6 of 8 in runs that kept their schedule, the last query of each still running).
 */
export const MIN_DELIVERED_SHARE = 0.95;

export interface RunMeta {
  scenario: string;
  mode: RunMode;
  pair: number;
  trial: number;
  engine: EngineName;
  rate: number | null;
  connections: number;
  durationS: number;
  warmupS: number;
}

/**
 * A results.json run from an engine result: integer µs everywhere, the HDR histogram encoded.
 * A run is invalid when the engine said so (dropped iterations), when nothing succeeded, or when
 * more than 1% of responses failed (its latency would describe only the survivors).
 */
export function toRunRecord(meta: RunMeta, r: EngineResult): RunRecord {
  const failed = Object.values(r.errors).reduce((s, n) => s + n, 0);
  let invalidReason = r.invalidReason;
  if (!invalidReason && r.ok === 0)
    invalidReason = `no successful response (errors: ${JSON.stringify(r.errors)}); check the target is up and the pair's grants`;
  if (!invalidReason && failed / (failed + r.ok) > MAX_ERROR_SHARE) {
    invalidReason = `${failed} of ${failed + r.ok} responses failed (${JSON.stringify(r.errors)}): latency covers only the successes`;
  }
  const scheduled = meta.rate !== null && meta.rate > 0 ? meta.rate * meta.durationS : null;
  let underDelivered = false;
  const inFlightAtEdge = meta.rate !== null && r.ok > 0 ? Math.max(1, Math.ceil((meta.rate * r.latency.mean) / 1e6)) : 1;
  if (!invalidReason && scheduled !== null && failed + r.ok < MIN_DELIVERED_SHARE * scheduled - inFlightAtEdge) {
    underDelivered = true;
    invalidReason =
      `delivered ${failed + r.ok} of ${Math.round(scheduled)} scheduled requests (${Math.round(((failed + r.ok) / scheduled) * 100)}%, ` +
      `below ${MIN_DELIVERED_SHARE * 100}%): the load generator fell behind, so slow periods are under-sampled; use more connections or a lower rate`;
  }
  const serverTimingUs: RunRecord['serverTimingUs'] = {};
  for (const [stage, h] of Object.entries(r.serverTiming)) {
    serverTimingUs[stage] = {
      p50: Math.round(h.getValueAtPercentile(50)),
      p99: Math.round(h.getValueAtPercentile(99)),
      mean: Math.round(h.mean * 10) / 10,
    };
  }
  return {
    id: `${meta.scenario}-t${meta.trial}-p${meta.pair}-${meta.mode}`,
    scenario: meta.scenario,
    mode: meta.mode,
    pair: meta.pair,
    trial: meta.trial,
    engine: meta.engine,
    model: r.model,
    rate: meta.rate,
    connections: meta.connections,
    durationS: meta.durationS,
    warmupS: meta.warmupS,
    requests: { ok: r.ok, errors: r.errors },
    latencyUs: summarize(r.latency),
    serverTimingUs,
    valid: invalidReason === null,
    invalidReason,
    // Short of its schedule only: its latency percentiles under-sample slow periods, but the per-request
    // in-band and CPU figures of what it did serve stand (estimators.ts).
    ...(underDelivered ? { invalidFor: 'latency' as const } : {}),
    throughputRps: Math.round(r.throughputRps * 100) / 100,
    timeline: r.timeline,
  };
}
