import { median } from 'simple-statistics';
import type { RunMode } from '../../system/protocol/modes.js';
import { AUTH_CPU_STAGES, AUTH_STAGES, DERIVED_STAGE, type Estimate, type EstimatorName, type RunRecord } from '../../results/schema.js';
import { COMPARED, pairedDiffs, pairedTest, perTrial } from './comparisons.js';

/**
 * The run's auth CPU per request: the per-run p50 of each side's sampled CPU entry, added; 0 when auth
 * did not run (no auth stage at all: off, direct); undefined when the engine read no Server-Timing, or
 * when auth ran but none of the run's requests had its CPU measured (a run of a few requests: a heavy
 * quick run has 2) — not measured is not free.
 */
function authCpuUs(r: RunRecord): number | undefined {
  const st = r.serverTimingUs;
  if (Object.keys(st).length === 0) return undefined;
  if (AUTH_CPU_STAGES.some((stage) => st[stage] !== undefined)) {
    return AUTH_CPU_STAGES.reduce((sum, stage) => sum + (st[stage]?.p50 ?? 0), 0);
  }
  return AUTH_STAGES.some((stage) => st[stage] !== undefined) ? undefined : 0;
}

/** How each estimator reads its per-run figure, and in which unit. */
const ESTIMATORS: readonly {
  name: EstimatorName;
  unit: Estimate['unit'];
  value: (r: RunRecord) => number | undefined;
  /** Whether the estimator says anything about candidate − baseline (default: always). */
  applies?: (baseline: RunMode, candidate: RunMode) => boolean;
}[] = [
  // Sign + verify is 0 in both direct and off: comparing them would only lengthen the family.
  { name: 'in-band-auth', unit: 'us', value: (r) => r.serverTimingUs[DERIVED_STAGE.auth]?.p50, applies: (_b, c) => c !== 'off' },
  { name: 'in-band-sidecar', unit: 'us', value: (r) => r.serverTimingUs[DERIVED_STAGE.inSidecar]?.p50 },
  {
    name: 'in-band-auth-cpu',
    unit: 'cpu-us-per-request',
    value: authCpuUs,
    applies: (_b, c) => c !== 'off',
  },
  { name: 'cpu', unit: 'cpu-us-per-request', value: (r) => r.cpu?.sidecarUsPerRequest },
];

export interface EstimateOptions {
  /** Bootstrap seed (the study's). */
  seed: number;
  /** Bootstrap resamples; default 10,000. */
  resamples?: number;
  /** Comparisons beyond {@link COMPARED} (calibration adds observe → enforce). */
  extra?: readonly (readonly [baseline: RunMode, candidate: RunMode])[];
}

/**
 * Runs an estimator may use: valid ones, and those invalid only for latency (short of their schedule):
 * in-band and CPU figures are per request served, so a generator that fell behind does not void them.
 */
const usable = (r: RunRecord): boolean => r.valid || r.invalidFor === 'latency';

const oneDecimal = (x: number): number => Math.round(x * 10) / 10;

/**
 * Auth-cost estimates of every scenario by every estimator whose figure the runs carry, for the
 * study's comparisons: paired by trial exactly as end-to-end comparisons are (median of per-trial
 * differences, bootstrap 95% CI over trials, exact signed-rank p). `significant` here is the raw
 * rule; the study re-judges it with the family's Holm-adjusted p.
 */
export function estimateAuthCost(runs: readonly RunRecord[], o: EstimateOptions): Estimate[] {
  const out: Estimate[] = [];
  const pairs = [...COMPARED, ...(o.extra ?? [])];
  for (const scenario of [...new Set(runs.map((r) => r.scenario))]) {
    const mine = runs.filter((r) => r.scenario === scenario);
    for (const [baseline, candidate] of pairs) {
      for (const e of ESTIMATORS) {
        if (e.applies && !e.applies(baseline, candidate)) continue;
        const base = perTrial(mine, baseline, e.value, usable);
        const cand = perTrial(mine, candidate, e.value, usable);
        const diffs = pairedDiffs(base, cand);
        if (diffs.length === 0) continue;
        const { ci, pValue, significant } = pairedTest(diffs, o);
        out.push({
          scenario,
          baseline,
          candidate,
          estimator: e.name,
          unit: e.unit,
          baselineValue: oneDecimal(median([...base.values()])),
          candidateValue: oneDecimal(median([...cand.values()])),
          delta: oneDecimal(ci.estimate),
          ci95: [Math.floor(ci.lo * 10) / 10, Math.ceil(ci.hi * 10) / 10],
          pValue,
          significant,
          n: diffs.length,
        });
      }
    }
  }
  return out;
}
