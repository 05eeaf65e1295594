import { describe, expect, it } from 'vitest';
import { formatCiUs, formatDeltaUs, formatP, formatPct, formatRps, formatUs, verdictSentence } from './format.js';

describe('format', () => {
  it('shows µs below 10 ms and ms above, to 3 significant figures', () => {
    expect(formatUs(31)).toBe('31 µs');
    expect(formatUs(812.4)).toBe('812 µs');
    expect(formatUs(1234)).toBe('1,230 µs');
    expect(formatUs(9_999)).toBe('10 ms');
    expect(formatUs(9_940)).toBe('9,940 µs');
    expect(formatUs(10_000)).toBe('10 ms');
    expect(formatUs(24_456)).toBe('24.5 ms');
    expect(formatUs(412_159)).toBe('412 ms');
    expect(formatUs(Number.NaN)).toBe('—');
  });

  it('signs deltas with a real minus and keeps CIs free of thousands separators', () => {
    expect(formatDeltaUs(31)).toBe('+31 µs');
    expect(formatDeltaUs(-1500)).toBe('−1,500 µs');
    expect(formatCiUs(-410, 1100)).toBe('[−410, 1100] µs');
    expect(formatCiUs(9_800, 12_100)).toBe('[9.8, 12.1] ms');
    expect(formatPct(-0.0621)).toBe('−6.21%');
    expect(formatPct(0.272)).toBe('27.2%');
  });

  it('formats rates and p-values', () => {
    expect(formatRps(11_838)).toBe('11,800 req/s');
    expect(formatP(0.0312)).toBe('0.031');
    expect(formatP(0.0002)).toBe('<0.001');
  });

  it('never gives a signed number when the CI includes zero', () => {
    expect(verdictSentence('enforce', 'p50', 31, [24, 39], true)).toBe('enforce adds 31 µs at p50 [24, 39] µs');
    expect(verdictSentence('enforce', 'p50', -12, [-20, -3], true)).toBe('enforce saves 12 µs at p50 [−20, −3] µs');
    expect(verdictSentence('enforce', 'p99', 40, [-5, 90], true)).toBe('no significant difference at p99');
    expect(verdictSentence('enforce', 'p99', 40, [5, 90], false)).toBe('no significant difference at p99');
  });
});
