import { describe, expect, it } from 'vitest';
import { checkTarget, describeTarget } from './target.js';

describe('checkTarget', () => {
  it('uses the published order statistics for the median interval', () => {
    // Hollander & Wolfe's table: n = 9 at 95 % is [x(2), x(8)], coverage 1 − 2·10/512 = 96.1 %.
    const nine = checkTarget([9, 1, 8, 2, 7, 3, 6, 4, 5], 0, 'at-least');
    expect([nine.lo, nine.hi, nine.estimate]).toEqual([2, 8, 5]);
    expect(nine.confidence).toBeCloseTo(1 - 20 / 512, 10);
    // n = 8 cannot exclude an extreme at 95 % (x(2)..x(7) covers only 93 %): [min, max], 99.2 %.
    const eight = checkTarget([1, 2, 3, 4, 5, 6, 7, 8], 0, 'at-least');
    expect([eight.lo, eight.hi]).toEqual([1, 8]);
    expect(eight.confidence).toBeCloseTo(1 - 2 / 256, 10);
    // Too few rounds for 95 %: [min, max] and the coverage it has.
    expect(checkTarget([0.8, 0.9, 1], 0, 'at-least').confidence).toBeCloseTo(0.75, 10);
    expect(checkTarget([0.8, 0.9, 1, 1.1, 1.2], 0, 'at-least').confidence).toBeCloseTo(0.9375, 10);
  });

  it('passes or misses only when every figure inside the interval agrees', () => {
    expect(checkTarget([0.93, 0.95, 0.97, 0.91, 0.99], 0.9, 'at-least').verdict).toBe('PASS');
    expect(checkTarget([0.7, 0.75, 0.8, 0.85, 0.88], 0.9, 'at-least').verdict).toBe('MISS');
    // The median (0.91) passes, but two rounds below the target leave it open.
    const open = checkTarget([0.69, 0.87, 0.91, 0.96, 1.21], 0.9, 'at-least');
    expect(open.estimate).toBe(0.91);
    expect(open.verdict).toBe('UNRESOLVED');
    expect(checkTarget([0.12, 0.14], 0.15, 'at-most').verdict).toBe('PASS');
    expect(checkTarget([0.29, 0.31], 0.15, 'at-most').verdict).toBe('MISS');
  });

  it('never decides from one round', () => {
    const one = checkTarget([3], 1, 'at-least');
    expect(one.verdict).toBe('UNRESOLVED');
    expect(one.confidence).toBe(0);
    expect(describeTarget(one)).toContain('one round says nothing about noise');
  });

  it('refuses input it cannot judge', () => {
    expect(() => checkTarget([], 1, 'at-least')).toThrow(/at least one round/);
    expect(() => checkTarget([1, Number.NaN], 1, 'at-least')).toThrow(/non-finite/);
    expect(() => checkTarget([1, 2], 1, 'at-least', 1)).toThrow(/level/);
  });

  it('describes the check in one line', () => {
    expect(describeTarget(checkTarget([0.69, 0.87, 0.91, 0.96, 1.21], 0.9, 'at-least'))).toBe(
      '0.91 [0.69, 1.21] (94% CI, 5 rounds) target ≥ 0.90: UNRESOLVED (the interval spans the target: run more rounds)',
    );
    // An end that would print as the target gets a third decimal, so a MISS never reads "0.90 ≥ 0.90".
    expect(describeTarget(checkTarget([0.74, 0.81, 0.899], 0.9, 'at-least'))).toBe(
      '0.810 [0.740, 0.899] (75% CI, 3 rounds) target ≥ 0.900: MISS',
    );
    expect(describeTarget(checkTarget([0.293, 0.311], 0.15, 'at-most'), (x) => x.toFixed(3))).toBe(
      '0.302 [0.293, 0.311] (50% CI, 2 rounds) target ≤ 0.150: MISS',
    );
  });
});
