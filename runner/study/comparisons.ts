import { median } from 'simple-statistics';
import type { RunMode } from '../../system/protocol/modes.js';
import { bootstrapMedianCI, isSignificantDifference, signedRankTest } from '../../results/stats/index.js';
import type { Comparison, RunRecord } from '../../results/schema.js';

/** What a study compares: auth overhead (observe/enforce − off) and path overhead (off − direct). */
export const COMPARED: readonly (readonly [baseline: RunMode, candidate: RunMode])[] = [
  ['off', 'enforce'],
  ['off', 'observe'],
  ['direct', 'off'],
];

export interface ComparisonOptions {
  /** Bootstrap seed (the study's). */
  seed: number;
  /** Bootstrap resamples; default 10,000. */
  resamples?: number;
  /** Comparisons beyond {@link COMPARED} (calibration adds observe → enforce). */
  extra?: readonly (readonly [baseline: RunMode, candidate: RunMode])[];
}

/**
 * The per-trial value of a per-run figure for one mode: the median over that trial's valid runs
 * (usually one) that have the figure (`value` returns undefined when a run lacks it).
 */
export function perTrial(
  runs: readonly RunRecord[],
  mode: RunMode,
  value: (r: RunRecord) => number | undefined,
  usable: (r: RunRecord) => boolean = (r) => r.valid,
): Map<number, number> {
  const byTrial = new Map<number, number[]>();
  for (const r of runs) {
    if (r.mode !== mode || !usable(r)) continue;
    const v = value(r);
    if (v === undefined || !Number.isFinite(v)) continue;
    const list = byTrial.get(r.trial) ?? [];
    list.push(v);
    byTrial.set(r.trial, list);
  }
  return new Map([...byTrial].sort(([a], [b]) => a - b).map(([t, v]) => [t, median(v)]));
}

/**
 * Paired differences candidate − baseline: by trial when the two modes share trials (interleaved
 * with ≥ as many pairs as modes; sequential), else by order of occurrence (fewer pairs than modes:
 * the k-th trial of one mode with the k-th of the other, neighbours in time).
 */
export function pairedDiffs(base: Map<number, number>, cand: Map<number, number>): number[] {
  const shared = [...base.keys()].filter((t) => cand.has(t));
  if (shared.length >= Math.min(base.size, cand.size) && shared.length > 0) {
    return shared.map((t) => (cand.get(t) as number) - (base.get(t) as number));
  }
  const b = [...base.values()];
  const c = [...cand.values()];
  return Array.from({ length: Math.min(b.length, c.length) }, (_, i) => (c[i] as number) - (b[i] as number));
}

/**
 * Comparisons of every scenario in `runs`, for p50 and p99: the median over trials of the paired
 * per-run difference, a bootstrap 95% CI resampling whole trials, and the Wilcoxon signed-rank
 * p-value. `significant` only when the CI excludes zero AND p < 0.05: with few trials a bootstrap CI
 * is little more than the range of the differences (3 same-signed trials exclude zero, yet the
 * signed-rank p cannot go below 0.25). µs, integers: the estimate rounded, the CI rounded outwards.
 */
/**
 * The paired test every comparison and estimate uses: the median of the per-trial differences with a
 * bootstrap 95% CI resampling trials, the exact signed-rank p, and the one significance rule.
 */
export function pairedTest(diffs: number[], o: { seed: number; resamples?: number }) {
  const ci = bootstrapMedianCI(diffs, { seed: o.seed, resamples: o.resamples ?? 10_000, level: 0.95 });
  const pValue = signedRankTest(diffs).pValue;
  return { ci, pValue, significant: isSignificantDifference(ci.lo, ci.hi, pValue) };
}

export function compareModes(runs: readonly RunRecord[], o: ComparisonOptions): Comparison[] {
  const out: Comparison[] = [];
  const scenarios = [...new Set(runs.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const mine = runs.filter((r) => r.scenario === scenario);
    for (const [baseline, candidate] of [...COMPARED, ...(o.extra ?? [])]) {
      for (const stat of ['p50', 'p99'] as const) {
        const of = (r: RunRecord) => r.latencyUs[stat];
        const diffs = pairedDiffs(perTrial(mine, baseline, of), perTrial(mine, candidate, of));
        if (diffs.length === 0) continue;
        const { ci, pValue, significant } = pairedTest(diffs, o);
        out.push({
          scenario,
          baseline,
          candidate,
          stat,
          deltaUs: Math.round(ci.estimate),
          ci95Us: [Math.floor(ci.lo), Math.ceil(ci.hi)],
          pValue,
          significant,
          n: diffs.length,
        });
      }
    }
  }
  return out;
}
