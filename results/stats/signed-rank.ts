import { normalTwoSidedP } from './normal.js';
import { midranks, tieTerm } from './ranks.js';

/** Result of a two-sided rank test. */
export interface RankTestResult {
  /** Signed-rank: V = sum of ranks of positive differences (R's `V`). Rank-sum: U of the first sample (R's `W`). */
  statistic: number;
  /** Two-sided p-value in [0, 1]. */
  pValue: number;
}

/** Largest n for which the exact null distribution is enumerated (2^25 sign patterns by dynamic programming). */
const EXACT_MAX_N = 25;

/**
 * Wilcoxon signed-rank test, two-sided, of "the differences are symmetric about 0".
 * Zeros are dropped (Wilcoxon's convention, as R does). For n ≤ 25 the p-value is exact: the
 * permutation distribution of V over all 2^n sign patterns, using midranks so ties are handled
 * exactly too. Above that, the normal approximation with tie and continuity correction.
 *
 * @param diffs paired differences, e.g. per-trial (enforce − off) p50 in µs.
 */
export function signedRankTest(diffs: number[]): RankTestResult {
  const nonZero = diffs.filter((d) => d !== 0);
  if (nonZero.some((d) => !Number.isFinite(d))) throw new RangeError('diffs contains a non-finite value');
  const n = nonZero.length;
  if (n === 0) return { statistic: 0, pValue: 1 };
  const { ranks, tieSizes } = midranks(nonZero.map(Math.abs));
  let v = 0;
  for (let i = 0; i < n; i++) if ((nonZero[i] as number) > 0) v += ranks[i] as number;

  if (n <= EXACT_MAX_N) return { statistic: v, pValue: exactSignedRankP(ranks, v) };

  const mean = (n * (n + 1)) / 4;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm(tieSizes) / 48;
  if (variance <= 0) return { statistic: v, pValue: 1 };
  const dev = v - mean;
  const z = (dev - 0.5 * Math.sign(dev)) / Math.sqrt(variance);
  return { statistic: v, pValue: normalTwoSidedP(z) };
}

function exactSignedRankP(ranks: readonly number[], v: number): number {
  // Midranks are multiples of 0.5, so doubled ranks are integers and the DP runs over integer sums.
  const doubled = ranks.map((r) => Math.round(2 * r));
  const maxSum = doubled.reduce((a, b) => a + b, 0);
  const counts = new Float64Array(maxSum + 1);
  counts[0] = 1;
  let reach = 0;
  for (const r of doubled) {
    reach += r;
    for (let s = reach; s >= r; s--) counts[s] = (counts[s] as number) + (counts[s - r] as number);
  }
  const total = 2 ** ranks.length;
  const target = Math.round(2 * v);
  let le = 0;
  let ge = 0;
  for (let s = 0; s <= maxSum; s++) {
    const c = counts[s] as number;
    if (s <= target) le += c;
    if (s >= target) ge += c;
  }
  return Math.min(1, (2 * Math.min(le, ge)) / total);
}
