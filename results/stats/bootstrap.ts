import { median, quantileSorted } from 'simple-statistics';
import { mulberry32 } from './prng.js';

/** Options shared by the bootstrap functions. */
export interface BootstrapOptions {
  /** Number of bootstrap resamples; default 10 000. */
  resamples?: number;
  /** Confidence level of the interval, in (0, 1); default 0.95. */
  level?: number;
  /** PRNG seed (mulberry32); default 1, so results are deterministic unless asked otherwise. */
  seed?: number;
}

/** A point estimate with a confidence interval, in the unit of the input (e.g. µs). */
export interface Estimate {
  estimate: number;
  lo: number;
  hi: number;
}

const DEFAULT_RESAMPLES = 10_000;
const DEFAULT_LEVEL = 0.95;
const DEFAULT_SEED = 1;

function checkInput(name: string, values: readonly number[]): void {
  if (values.length === 0) {
    throw new RangeError(`${name} is empty: a bootstrap needs at least one value (one per run or trial)`);
  }
  for (const v of values) {
    if (!Number.isFinite(v)) throw new RangeError(`${name} contains a non-finite value (${v}); drop invalid runs first`);
  }
}

function resolve(opts: BootstrapOptions | undefined): { resamples: number; level: number; rand: () => number } {
  const resamples = opts?.resamples ?? DEFAULT_RESAMPLES;
  const level = opts?.level ?? DEFAULT_LEVEL;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`resamples must be a positive integer (got ${resamples})`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1) (got ${level})`);
  return { resamples, level, rand: mulberry32(opts?.seed ?? DEFAULT_SEED) };
}

/** Median of a with-replacement resample of `values`, reusing `scratch` to avoid allocation per resample. */
function resampleMedian(values: readonly number[], scratch: Float64Array, rand: () => number): number {
  const n = values.length;
  for (let i = 0; i < n; i++) scratch[i] = values[Math.floor(rand() * n)] as number;
  scratch.sort();
  const mid = n >> 1;
  return n % 2 === 1 ? (scratch[mid] as number) : ((scratch[mid - 1] as number) + (scratch[mid] as number)) / 2;
}

function percentileInterval(stats: Float64Array, level: number): { lo: number; hi: number } {
  stats.sort();
  const sorted = Array.from(stats);
  const alpha = (1 - level) / 2;
  return { lo: quantileSorted(sorted, alpha), hi: quantileSorted(sorted, 1 - alpha) };
}

/**
 * Median of `values` with a percentile-bootstrap CI that resamples the values themselves, so pass one
 * value per independent unit (per-trial paired differences, per-run percentiles), never per request.
 *
 * @param values e.g. per-trial (candidate − baseline) p50 differences in µs.
 * @returns estimate = sample median; [lo, hi] = the (1−level)/2 and (1+level)/2 quantiles of the
 *   bootstrap medians. Deterministic for a given seed.
 */
export function bootstrapMedianCI(values: number[], opts?: BootstrapOptions): Estimate {
  checkInput('values', values);
  const { resamples, level, rand } = resolve(opts);
  const scratch = new Float64Array(values.length);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) stats[r] = resampleMedian(values, scratch, rand);
  return { estimate: median(values), ...percentileInterval(stats, level) };
}

/**
 * Unpaired difference of medians, median(candidate) − median(baseline), with a percentile-bootstrap CI
 * that resamples each group independently (use when runs are not paired, e.g. two separate studies).
 *
 * @param baseline per-run statistic of the baseline (µs).
 * @param candidate per-run statistic of the candidate (µs).
 */
export function bootstrapMedianDiffCI(baseline: number[], candidate: number[], opts?: BootstrapOptions): Estimate {
  checkInput('baseline', baseline);
  checkInput('candidate', candidate);
  const { resamples, level, rand } = resolve(opts);
  const sb = new Float64Array(baseline.length);
  const sc = new Float64Array(candidate.length);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    stats[r] = resampleMedian(candidate, sc, rand) - resampleMedian(baseline, sb, rand);
  }
  return { estimate: median(candidate) - median(baseline), ...percentileInterval(stats, level) };
}
