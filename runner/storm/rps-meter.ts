/**
 * Client-side IdP request counter: every token-exchange response (issued or failed) is counted in a
 * fine bucket by its completion time, so the IdP's request rate over time can be read back at any
 * coarser resolution without keeping one timestamp per request (10,000 services × several lifetimes
 * would otherwise be hundreds of thousands of numbers).
 */
export interface RpsMeter {
  /** Counts one IdP response that completed at `atMs` (default: now, on the meter's clock). */
  record(atMs?: number): void;
  /** Milliseconds on the meter's clock since it was created. */
  elapsedMs(): number;
  /** Responses counted with `fromMs <= t < toMs` (meter-relative milliseconds). */
  count(fromMs: number, toMs: number): number;
  /**
   * IdP requests/s in consecutive buckets of `bucketMs` covering [fromMs, toMs). Only whole buckets
   * are returned (a trailing partial bucket would read as a dip). `tMs` is the bucket's start,
   * relative to `fromMs`.
   */
  series(fromMs: number, toMs: number, bucketMs: number): [number, number][];
}

export interface RpsMeterOptions {
  /** Resolution of the stored counts, milliseconds. Default 100. */
  resolutionMs?: number;
  /** Monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number;
}

/** Creates a meter whose time origin is the moment of creation. */
export function createRpsMeter(opts: RpsMeterOptions = {}): RpsMeter {
  const resolutionMs = opts.resolutionMs ?? 100;
  const now = opts.now ?? (() => performance.now());
  const origin = now();
  const counts: number[] = [];

  const slot = (tMs: number) => Math.max(0, Math.floor(tMs / resolutionMs));

  const count = (fromMs: number, toMs: number): number => {
    let n = 0;
    const last = Math.min(counts.length, slot(toMs));
    for (let i = slot(fromMs); i < last; i++) n += counts[i] ?? 0;
    return n;
  };

  return {
    record(atMs) {
      const i = slot((atMs ?? now()) - origin);
      while (counts.length <= i) counts.push(0);
      counts[i] = (counts[i] ?? 0) + 1;
    },
    elapsedMs: () => now() - origin,
    count,
    series(fromMs, toMs, bucketMs) {
      if (bucketMs % resolutionMs !== 0) {
        throw new Error(`bucketMs (${bucketMs}) must be a multiple of the meter resolution (${resolutionMs} ms)`);
      }
      const out: [number, number][] = [];
      for (let t = fromMs; t + bucketMs <= toMs; t += bucketMs) {
        out.push([Math.round(t - fromMs), round1((count(t, t + bucketMs) * 1000) / bucketMs)]);
      }
      return out;
    },
  };
}

/** Peak and mean of a rate series (requests/s). Mean is over the buckets, i.e. total ÷ duration. */
export function peakAndMean(series: readonly [number, number][]): { peak: number; mean: number } {
  if (series.length === 0) return { peak: 0, mean: 0 };
  let peak = 0;
  let sum = 0;
  for (const [, rps] of series) {
    peak = Math.max(peak, rps);
    sum += rps;
  }
  return { peak, mean: round1(sum / series.length) };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
