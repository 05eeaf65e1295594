import { describe, expect, it } from 'vitest';
import { median } from 'simple-statistics';
import { bootstrapMedianCI, bootstrapMedianDiffCI, holmAdjust, mulberry32, rankSumTest, signedRankTest, trialsForFamily } from './index.js';

describe('mulberry32', () => {
  it('is deterministic per seed and uniform on [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 100_000 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs.slice(0, 5));
    expect(c()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeCloseTo(0.5, 2);
  });
});

describe('signedRankTest', () => {
  // Hollander & Wolfe (1973), p. 29: Hamilton depression scale before (x) and after (y) a tranquilizer;
  // the example of R's ?wilcox.test. R: V = 40, one-sided p = 0.01953, so two-sided p = 0.03906 (= 20/512).
  const x = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
  const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];

  it('matches the published Hollander & Wolfe example exactly', () => {
    const r = signedRankTest(x.map((xi, i) => xi - y[i]!));
    expect(r.statistic).toBe(40);
    expect(r.pValue).toBeCloseTo(20 / 512, 10);
  });

  it('is symmetric in the sign of the differences', () => {
    const r = signedRankTest(x.map((xi, i) => y[i]! - xi));
    expect(r.statistic).toBe(5);
    expect(r.pValue).toBeCloseTo(20 / 512, 10);
  });

  it('is exact with ties: six equal positive differences have p = 2/64', () => {
    // All |d| tie at midrank 3.5; only the all-positive and all-negative sign patterns reach V = 21 or 0.
    const r = signedRankTest([5, 5, 5, 5, 5, 5]);
    expect(r.statistic).toBe(21);
    expect(r.pValue).toBeCloseTo(2 / 64, 12);
  });

  it('drops zeros and returns p = 1 with nothing left', () => {
    expect(signedRankTest([0, 0, 0])).toEqual({ statistic: 0, pValue: 1 });
    expect(signedRankTest([0, 3, -1, 2]).statistic).toBe(5);
  });

  it('uses the normal approximation above n = 25 (R: wilcox.test(1:30) p = 1.825e-06)', () => {
    const r = signedRankTest(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(r.statistic).toBe(465);
    expect(r.pValue).toBeGreaterThan(1.8e-6);
    expect(r.pValue).toBeLessThan(1.85e-6);
  });

  it('does not call a symmetric sample significant', () => {
    const d = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 1 : -1) * (i + 1));
    expect(signedRankTest(d).pValue).toBeGreaterThan(0.5);
  });
});

describe('rankSumTest', () => {
  // R's ?wilcox.test: permeability constants of the placental membrane at term (x) and 12–26 weeks (y),
  // Hollander & Wolfe p. 69. R: W = 35, one-sided p = 0.1272, so two-sided p = 0.2544 (exact).
  const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
  const y = [1.15, 0.88, 0.9, 0.74, 1.21];

  it('matches the published example', () => {
    const r = rankSumTest(x, y);
    expect(r.statistic).toBe(35);
    expect(r.pValue).toBeCloseTo(0.2544, 3);
  });

  it('separates fully shifted samples (exact p = 2 / C(10, 5))', () => {
    const r = rankSumTest([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    expect(r.statistic).toBe(0);
    expect(r.pValue).toBeCloseTo(2 / 252, 10);
  });

  it('handles ties with the normal approximation', () => {
    const r = rankSumTest([1, 1, 2, 2, 3], [1, 2, 2, 3, 3]);
    expect(r.pValue).toBeGreaterThan(0.3);
    expect(r.pValue).toBeLessThanOrEqual(1);
  });
});

describe('bootstrap', () => {
  /** Exponential variates with mean 1000 µs: median = 1000·ln 2, skewed like latencies. */
  function expSample(rand: () => number, n: number): number[] {
    return Array.from({ length: n }, () => -1000 * Math.log(1 - rand()));
  }

  it('bootstrapMedianCI covers the true median about 95% of the time', () => {
    const trueMedian = 1000 * Math.LN2;
    const rand = mulberry32(7);
    const reps = 300;
    let covered = 0;
    for (let r = 0; r < reps; r++) {
      const ci = bootstrapMedianCI(expSample(rand, 40), { resamples: 1000, seed: r });
      if (ci.lo <= trueMedian && trueMedian <= ci.hi) covered++;
    }
    // Percentile-bootstrap intervals for a median are slightly liberal or conservative at n = 40;
    // a broken CI (too narrow, off-centre) lands far outside this band.
    expect(covered / reps).toBeGreaterThan(0.88);
    expect(covered / reps).toBeLessThan(0.99);
  });

  it('is deterministic for a seed and reports the sample median', () => {
    const data = expSample(mulberry32(1), 25);
    const a = bootstrapMedianCI(data, { seed: 5 });
    expect(bootstrapMedianCI(data, { seed: 5 })).toEqual(a);
    expect(a.estimate).toBe(median(data));
    expect(a.lo).toBeLessThanOrEqual(a.estimate);
    expect(a.hi).toBeGreaterThanOrEqual(a.estimate);
  });

  it('bootstrapMedianDiffCI finds a 1000 µs shift and covers it ~95% of the time', () => {
    const rand = mulberry32(11);
    const reps = 200;
    let covered = 0;
    let excludesZero = 0;
    for (let r = 0; r < reps; r++) {
      const base = expSample(rand, 30);
      const cand = expSample(rand, 30).map((v) => v + 1000);
      const ci = bootstrapMedianDiffCI(base, cand, { resamples: 1000, seed: r });
      if (ci.lo <= 1000 && 1000 <= ci.hi) covered++;
      if (ci.lo > 0) excludesZero++;
    }
    expect(covered / reps).toBeGreaterThan(0.88);
    // Median SE of the difference here is ≈ 260 µs, so a 1000 µs shift is detected almost always.
    expect(excludesZero / reps).toBeGreaterThan(0.9);
  });

  it('rejects empty input with a message', () => {
    expect(() => bootstrapMedianCI([])).toThrow(/at least one value/);
    expect(() => bootstrapMedianDiffCI([1], [Number.NaN])).toThrow(/non-finite/);
  });
});

describe('holmAdjust', () => {
  it("matches R's p.adjust(c(0.01, 0.04, 0.03, 0.005), 'holm')", () => {
    // Worked by hand: sorted 0.005·4, 0.01·3, 0.03·2, 0.04·1 → 0.02, 0.03, 0.06, max(0.04, 0.06).
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    expect(adj.map((p) => Number(p.toFixed(6)))).toEqual([0.03, 0.06, 0.06, 0.02]);
  });

  it('caps at 1 and keeps an empty family empty', () => {
    expect(holmAdjust([0.5, 0.9])).toEqual([1, 1]);
    expect(holmAdjust([])).toEqual([]);
  });

  it('names the trial count whose exact signed-rank floor 2/2^n passes α/m', () => {
    expect(trialsForFamily(1)).toBe(6); // 2/64 = 0.031 < 0.05
    expect(trialsForFamily(24)).toBe(10); // 2/1024 = 0.00195 < 0.00208
    expect(trialsForFamily(40)).toBe(11);
  });
});
