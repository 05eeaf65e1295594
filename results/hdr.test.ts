import { describe, expect, it } from 'vitest';
import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { decodeHistogram, mergeHistograms, summarize } from './hdr.js';

/** A histogram with values 1..n µs recorded once each (3 significant digits keeps ≤ 0.1% error). */
function rangeHist(from: number, to: number): string {
  const h = build({ numberOfSignificantValueDigits: 3 });
  for (let v = from; v <= to; v++) h.recordValue(v);
  return encodeIntoCompressedBase64(h);
}

describe('hdr', () => {
  it('round-trips through compressed base64 and summarizes in whole µs', () => {
    const s = summarize(decodeHistogram(rangeHist(1, 1000)));
    expect(s.count).toBe(1000);
    expect(s.p50).toBe(500);
    expect(s.p90).toBe(900);
    expect(s.p99).toBe(990);
    expect(s.p999).toBe(999);
    expect(s.max).toBe(1000);
    expect(s.mean).toBe(501); // 500.5 rounded; HDR bucket midpoints keep it within 0.1%
    expect(Number.isInteger(s.mean)).toBe(true);
  });

  it('merges by adding counts, not by averaging percentiles', () => {
    // Run A: 900 requests at 100 µs; run B: 100 requests at 10 000 µs.
    const a = build({ numberOfSignificantValueDigits: 3 });
    a.recordValueWithCount(100, 900);
    const b = build({ numberOfSignificantValueDigits: 3 });
    b.recordValueWithCount(10_000, 100);
    const merged = mergeHistograms([decodeHistogram(encodeIntoCompressedBase64(a)), decodeHistogram(encodeIntoCompressedBase64(b))]);
    const s = summarize(merged);
    expect(s.count).toBe(1000);
    // Known answers of the pooled distribution: 90% of requests at 100 µs, the rest at 10 ms.
    expect(s.p50).toBe(100);
    expect(s.p90).toBe(100);
    expect(s.p99).toBeGreaterThanOrEqual(9_995);
    // HDR reports the top of the value's bucket: 8 µs wide at 10 ms with 3 significant digits.
    expect(s.p99).toBeLessThanOrEqual(10_010);
    expect(s.mean).toBeGreaterThanOrEqual(1089);
    expect(s.mean).toBeLessThanOrEqual(1091); // (900·100 + 100·10 000) / 1000 = 1090
    // Averaging the two p50s (the mistake) would give 5050 µs.
    expect(s.p50).not.toBe(5050);
  });

  it('merges two uniform halves into the whole', () => {
    const s = summarize(mergeHistograms([decodeHistogram(rangeHist(1, 500)), decodeHistogram(rangeHist(501, 1000))]));
    expect(s.count).toBe(1000);
    expect(s.p50).toBe(500);
    expect(s.p99).toBe(990);
    expect(s.max).toBe(1000);
  });

  it('summarizes an empty merge as zeros', () => {
    const s = summarize(mergeHistograms([]));
    expect(s).toMatchObject({ count: 0, p50: 0, p99: 0, max: 0, mean: 0 });
  });

  it('rejects text that is not a histogram with a stable code', () => {
    expect(() => decodeHistogram('not-a-histogram')).toThrow(expect.objectContaining({ code: 'ERR_HDR_DECODE' }));
  });
});
