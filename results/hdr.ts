import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { ReportError } from './errors.js';
import type { LatencySummaryUs } from './schema.js';

export type { Histogram };

/**
 * Decodes an HdrHistogram from its compressed base64 form (`latencyUs.hdr`). Values are µs.
 * Uses the JS implementation (no WebAssembly), so nothing needs freeing.
 *
 * @throws ReportError with code ERR_HDR_DECODE when the text is not such an encoding.
 */
export function decodeHistogram(base64: string): Histogram {
  try {
    return decodeFromCompressedBase64(base64, 32, false);
  } catch (cause) {
    throw new ReportError(
      'ERR_HDR_DECODE',
      'latencyUs.hdr is not a compressed-base64 HdrHistogram; re-run the study or regenerate the file with hdr-histogram-js encodeIntoCompressedBase64',
      { cause },
    );
  }
}

/**
 * Merges histograms by adding their counts: the only correct way to pool runs (percentiles of a pool
 * are not averages of percentiles). The inputs are left untouched.
 *
 * @returns a new histogram; empty when `list` is empty.
 */
export function mergeHistograms(list: readonly Histogram[]): Histogram {
  const merged = build({ numberOfSignificantValueDigits: 3 });
  for (const h of list) merged.add(h);
  return merged;
}

/**
 * The headline figures of a histogram, integers in µs, plus the histogram itself encoded for results.json.
 * An empty histogram yields zeros (count 0), never NaN.
 */
export function summarize(hist: Histogram): LatencySummaryUs {
  const empty = hist.totalCount === 0;
  const at = (p: number): number => (empty ? 0 : Math.round(hist.getValueAtPercentile(p)));
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: empty ? 0 : Math.round(hist.maxValue),
    mean: empty ? 0 : Math.round(hist.mean),
    count: hist.totalCount,
    hdr: encodeIntoCompressedBase64(hist),
  };
}

/**
 * Latency at each quantile q in [0, 1) of the histogram, µs — the data of a percentile-spectrum plot.
 * Returns an empty list for an empty histogram.
 */
export function quantilesUs(hist: Histogram, qs: readonly number[]): number[] {
  if (hist.totalCount === 0) return [];
  return qs.map((q) => Math.round(hist.getValueAtPercentile(q * 100)));
}
