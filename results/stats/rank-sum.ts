import { normalTwoSidedP } from './normal.js';
import { midranks, tieTerm } from './ranks.js';
import type { RankTestResult } from './signed-rank.js';

/** R's rule: enumerate the exact distribution when both samples are below this size and there are no ties. */
const EXACT_MAX_GROUP = 50;

/**
 * Mann–Whitney U (Wilcoxon rank-sum) test, two-sided, of "a and b come from the same distribution"
 * against a location shift. statistic = U of `a` (R's `W`: rank sum of a − n_a(n_a+1)/2).
 * Exact when both groups have < 50 values and no ties; otherwise the normal approximation with tie
 * and continuity correction (as R's `wilcox.test`).
 *
 * @param a e.g. per-run p99 (µs) of the base study.
 * @param b e.g. per-run p99 (µs) of the new study.
 */
export function rankSumTest(a: number[], b: number[]): RankTestResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('rankSumTest needs at least one value in each sample');
  if ([...a, ...b].some((x) => !Number.isFinite(x))) throw new RangeError('rankSumTest input contains a non-finite value');
  const { ranks, tieSizes } = midranks([...a, ...b]);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i] as number;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const hasTies = tieSizes.some((t) => t > 1);

  if (!hasTies && n1 < EXACT_MAX_GROUP && n2 < EXACT_MAX_GROUP) {
    return { statistic: u, pValue: exactRankSumP(n1, n2, u) };
  }
  const N = n1 + n2;
  const variance = ((n1 * n2) / 12) * (N + 1 - tieTerm(tieSizes) / (N * (N - 1)));
  if (variance <= 0) return { statistic: u, pValue: 1 };
  const dev = u - (n1 * n2) / 2;
  const z = (dev - 0.5 * Math.sign(dev)) / Math.sqrt(variance);
  return { statistic: u, pValue: normalTwoSidedP(z) };
}

/** Exact two-sided p of U for samples of n1 and n2 without ties, via the counting recurrence on U. */
function exactRankSumP(n1: number, n2: number, u: number): number {
  const maxU = n1 * n2;
  // f(m, n)(k): number of orderings of m first-sample and n second-sample values with U = k.
  // f(m, n)(k) = f(m−1, n)(k − n) + f(m, n−1)(k). Only rows m−1 and m are kept (≈ 2 MB at 49 × 49).
  // Counts reach C(98, 49) ≈ 2.5e28: doubles keep their ratio accurate, which is all a p-value needs.
  let prevRow: Float64Array[] = [];
  for (let m = 0; m <= n1; m++) {
    const row: Float64Array[] = [];
    for (let n = 0; n <= n2; n++) {
      const f = new Float64Array(maxU + 1);
      if (m === 0 || n === 0) f[0] = 1;
      else {
        const left = prevRow[n]!;
        const down = row[n - 1]!;
        for (let k = 0; k <= m * n; k++) f[k] = (k >= n ? (left[k - n] as number) : 0) + (down[k] as number);
      }
      row.push(f);
    }
    prevRow = row;
  }
  const f = prevRow[n2]!;
  let total = 0;
  let le = 0;
  let ge = 0;
  for (let k = 0; k <= maxU; k++) {
    const c = f[k] as number;
    total += c;
    if (k <= u) le += c;
    if (k >= u) ge += c;
  }
  return Math.min(1, (2 * Math.min(le, ge)) / total);
}
