/**
 * k6 execution segments for N runners sharing one scenario (the mechanism grafana/k6-operator uses):
 * runner i of N runs `--execution-segment i/N:(i+1)/N` of the sequence `0,1/N,…,1`, so k6 itself gives
 * each runner its share of the arrival rate and of the VUs, and the shares add up to the whole.
 */
export interface ExecutionSegment {
  /** `--execution-segment`, e.g. `1/3:2/3` (`0` and `1` written plainly). */
  segment: string;
  /** `--execution-segment-sequence`, the same for every runner: `0,1/3,2/3,1`. */
  sequence: string;
}

const frac = (i: number, n: number): string => (i === 0 ? '0' : i === n ? '1' : `${i}/${n}`);

/** The N segments of an even split, in runner order. */
export function executionSegments(n: number): ExecutionSegment[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`runners must be a positive integer (got ${n})`);
  const sequence = Array.from({ length: n + 1 }, (_, i) => frac(i, n)).join(',');
  return Array.from({ length: n }, (_, i) => ({ segment: `${frac(i, n)}:${frac(i + 1, n)}`, sequence }));
}

/** The k6 flags of one runner's segment (none for a single runner: the whole test). */
export function segmentArgs(s: ExecutionSegment, n: number): string[] {
  return n === 1 ? [] : ['--execution-segment', s.segment, '--execution-segment-sequence', s.sequence];
}
