/**
 * A benchmark target checked against a handful of rounds: the median of per-round figures with a
 * distribution-free confidence interval, and a verdict that says UNRESOLVED when the interval spans
 * the target instead of letting the host's noise pick PASS or MISS.
 *
 * The interval is the order-statistic (binomial) interval for the median (Hollander & Wolfe, ch. 3):
 * [x(k), x(n−k+1)] of the sorted values, with the largest k whose coverage 1 − 2·P(Bin(n, ½) < k)
 * is still ≥ the level. It assumes only independent rounds from one continuous distribution, so it
 * is exact for the 3–10 rounds a bench runs, where a percentile bootstrap of the median under-covers.
 * With too few rounds to reach the level it is [min, max] and says how confident that is (5 rounds:
 * 93.8 %, 3: 75 %, 2: 50 %).
 */
import { median } from 'simple-statistics';

export type TargetBound = 'at-least' | 'at-most';
export type TargetVerdict = 'PASS' | 'MISS' | 'UNRESOLVED';

export interface TargetCheck {
  estimate: number;
  lo: number;
  hi: number;
  /** Coverage of [lo, hi] actually achieved with this many rounds, in (0, 1]; 0 for one round. */
  confidence: number;
  rounds: number;
  target: number;
  bound: TargetBound;
  /** PASS / MISS when the whole interval is on one side of the target; UNRESOLVED when it spans it. */
  verdict: TargetVerdict;
}

/** P(Bin(n, ½) ≤ k). */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n; // C(n, 0) / 2^n
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/**
 * Median of per-round `values` with its order-statistic interval, judged against `target`.
 *
 * @param values one figure per round (a paired ratio, a CPU cost), never per request.
 * @param bound 'at-least': the figure must be ≥ target; 'at-most': ≤ target.
 * @param level wanted coverage, default 0.95.
 * @throws RangeError for no values, a non-finite value or a level outside (0, 1).
 */
export function checkTarget(values: readonly number[], target: number, bound: TargetBound, level = 0.95): TargetCheck {
  if (values.length === 0) throw new RangeError('checkTarget needs at least one round');
  for (const v of values)
    if (!Number.isFinite(v)) throw new RangeError(`checkTarget got a non-finite round (${v}); drop failed rounds first`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1) (got ${level})`);
  const xs = [...values].sort((a, b) => a - b);
  const n = xs.length;
  // k is 1-based: the interval is [xs[k-1], xs[n-k]]; k = 1 is [min, max].
  let k = 1;
  while (k + 1 <= Math.floor((n + 1) / 2) && 1 - 2 * binomialHalfCdf(n, k) >= level) k++;
  const confidence = n < 2 ? 0 : 1 - 2 * binomialHalfCdf(n, k - 1);
  const lo = xs[k - 1]!;
  const hi = xs[n - k]!;
  const good = (x: number) => (bound === 'at-least' ? x >= target : x <= target);
  const verdict: TargetVerdict = n < 2 ? 'UNRESOLVED' : good(lo) && good(hi) ? 'PASS' : !good(lo) && !good(hi) ? 'MISS' : 'UNRESOLVED';
  return { estimate: median(xs), lo, hi, confidence, rounds: n, target, bound, verdict };
}

/** Two decimals, or three when an end of the interval would print as the target (0.899 vs 0.90). */
function defaultFormat(c: TargetCheck): (x: number) => string {
  const two = (x: number) => x.toFixed(2);
  return two(c.lo) === two(c.target) || two(c.hi) === two(c.target) ? (x) => x.toFixed(3) : two;
}

/** `0.86 [0.71, 0.97] (94% CI, 5 rounds)`: the median and its interval. */
export function describeInterval(c: TargetCheck, format: (x: number) => string = defaultFormat(c)): string {
  return `${format(c.estimate)} [${format(c.lo)}, ${format(c.hi)}] (${Math.round(c.confidence * 100)}% CI, ${c.rounds} rounds)`;
}

/** `0.86 [0.71, 0.97] (94% CI, 5 rounds) target ≥ 0.90: UNRESOLVED (…)` — one line for a bench's output. */
export function describeTarget(c: TargetCheck, format: (x: number) => string = defaultFormat(c)): string {
  const why =
    c.verdict === 'UNRESOLVED'
      ? c.rounds < 2
        ? ' (one round says nothing about noise)'
        : ' (the interval spans the target: run more rounds)'
      : '';
  return `${describeInterval(c, format)} target ${c.bound === 'at-least' ? '≥' : '≤'} ${format(c.target)}: ${c.verdict}${why}`;
}
