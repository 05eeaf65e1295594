import { median } from 'simple-statistics';
import { RUN_MODES } from '../system/protocol/modes.js';
import { decodeHistogram, mergeHistograms, quantilesUs, summarize } from '../results/hdr.js';
import type { Histogram } from '../results/hdr.js';
import type { Comparison, LatencySummaryUs, Results, RunRecord } from '../results/schema.js';
import { DERIVED_STAGE, isCpuStage } from '../results/schema.js';
import { stageParts } from './stages.js';

/** One scenario × mode, pooled over its valid runs. */
export interface ModeModel {
  mode: string;
  validRuns: number;
  invalidRuns: number;
  /** From the merged histogram of valid runs (never an average of per-run percentiles), µs. */
  latency: Omit<LatencySummaryUs, 'hdr'>;
  /** Median over valid runs of each run's throughput, requests/s. */
  throughputRps: number;
  /** Failed requests over all requests of the valid runs, and the breakdown by status/code. */
  errorRate: number;
  errors: Record<string, number>;
  /** Percentile spectrum points [1/(1−q), latency µs] from the merged histogram. */
  spectrum: [number, number][];
  /** Pointwise median over valid runs of each timeline interval. */
  timeline: { tMs: number; rps: number; p50Us: number; p99Us: number }[];
  /** Where a request's p50 goes, µs, as disjoint parts (see stages.ts) from Server-Timing medians over runs. */
  stagesP50Us: Record<string, number>;
}

export interface ScenarioModel {
  scenario: string;
  modes: ModeModel[];
  comparisons: Comparison[];
  /** Load shape of the scenario's runs, for the reader to judge the numbers. */
  load: { model: string; connections: number; rate: number | null; durationS: number; warmupS: number };
}

/** Merged histogram per `scenario\u0000mode` over valid runs (exported for compare). */
export function mergedByScenarioMode(runs: readonly RunRecord[]): Map<string, Histogram> {
  const groups = new Map<string, Histogram[]>();
  for (const r of runs) {
    if (!r.valid) continue;
    const key = `${r.scenario}\u0000${r.mode}`;
    const list = groups.get(key) ?? [];
    list.push(decodeHistogram(r.latencyUs.hdr));
    groups.set(key, list);
  }
  return new Map([...groups].map(([k, hs]) => [k, mergeHistograms(hs)]));
}

/** Scenarios with runs, in the study's order. */
export function scenarioOrder(results: Results): string[] {
  const seen = [...new Set(results.runs.map((r) => r.scenario))];
  const declared = results.study.scenarios ?? [];
  return [...declared.filter((s) => seen.includes(s)), ...seen.filter((s) => !declared.includes(s))];
}

/** Modes in display order: RUN_MODES order (baseline first), then any unknown mode by name. */
export function modeOrder(modes: Iterable<string>): string[] {
  const list = [...new Set(modes)];
  const rank = (m: string): number => {
    const i = (RUN_MODES as readonly string[]).indexOf(m);
    return i < 0 ? RUN_MODES.length : i;
  };
  return list.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Quantiles of the spectrum: q = 1 − 10^(−k), k from 0 to the depth the sample size supports. */
function spectrumQuantiles(count: number): number[] {
  const maxK = Math.min(5, Math.log10(Math.max(count, 2)));
  const qs: number[] = [];
  for (let k = 0; k <= maxK + 1e-9; k += 0.05) qs.push(1 - 10 ** -k);
  return qs;
}

function pointwiseMedian(runs: readonly RunRecord[]): ModeModel['timeline'] {
  const withTl = runs.filter((r) => r.timeline && r.timeline.length > 0);
  const len = Math.min(...withTl.map((r) => r.timeline!.length));
  if (withTl.length === 0 || !Number.isFinite(len)) return [];
  const out: ModeModel['timeline'] = [];
  for (let i = 0; i < len; i++) {
    const pts = withTl.map((r) => r.timeline![i]!);
    out.push({
      tMs: median(pts.map((p) => p.tMs)),
      rps: median(pts.map((p) => p.rps)),
      p50Us: median(pts.map((p) => p.p50Us)),
      p99Us: median(pts.map((p) => p.p99Us)),
    });
  }
  return out;
}

function modeModel(mode: string, all: readonly RunRecord[], hist: Histogram | undefined): ModeModel {
  const valid = all.filter((r) => r.valid);
  const { hdr: _hdr, ...latency } = summarize(hist ?? mergeHistograms([]));
  const errors: Record<string, number> = {};
  let failed = 0;
  let ok = 0;
  for (const r of valid) {
    ok += r.requests.ok;
    for (const [code, n] of Object.entries(r.requests.errors)) {
      errors[code] = (errors[code] ?? 0) + n;
      failed += n;
    }
  }
  // Derived figures (auth, in-sidecar) overlap the stages: they are estimators, not parts of a request.
  // CPU entries (`verify-cpu`, ...) are not wall-clock time: no part of a request's response time either.
  const derived = new Set<string>(Object.values(DERIVED_STAGE));
  const stageNames = [...new Set(valid.flatMap((r) => Object.keys(r.serverTimingUs)))].filter((s) => !derived.has(s) && !isCpuStage(s));
  const stagesP50Us: Record<string, number> = {};
  for (const s of stageNames) {
    const vals = valid.map((r) => r.serverTimingUs[s]?.p50).filter((v): v is number => v !== undefined);
    if (vals.length > 0) stagesP50Us[s] = median(vals);
  }
  const parts = stageParts(stagesP50Us, hist && hist.totalCount > 0 ? hist.getValueAtPercentile(50) : null);
  const qs = spectrumQuantiles(latency.count);
  const ys = hist ? quantilesUs(hist, qs) : [];
  return {
    mode,
    validRuns: valid.length,
    invalidRuns: all.length - valid.length,
    latency,
    throughputRps: valid.length ? median(valid.map((r) => r.throughputRps ?? r.requests.ok / r.durationS)) : Number.NaN,
    errorRate: ok + failed > 0 ? failed / (ok + failed) : 0,
    errors,
    spectrum: ys.map((y, i) => [1 / (1 - qs[i]!), y]),
    timeline: pointwiseMedian(valid),
    stagesP50Us: parts,
  };
}

/** Everything the renderers show per scenario, computed once from results.json. */
export function buildScenarioModels(results: Results): ScenarioModel[] {
  const merged = mergedByScenarioMode(results.runs);
  return scenarioOrder(results).map((scenario) => {
    const runs = results.runs.filter((r) => r.scenario === scenario);
    const first = runs[0]!;
    return {
      scenario,
      modes: modeOrder(runs.map((r) => r.mode)).map((mode) =>
        modeModel(
          mode,
          runs.filter((r) => r.mode === mode),
          merged.get(`${scenario}\u0000${mode}`),
        ),
      ),
      comparisons: results.comparisons.filter((c) => c.scenario === scenario),
      load: { model: first.model, connections: first.connections, rate: first.rate, durationS: first.durationS, warmupS: first.warmupS },
    };
  });
}
