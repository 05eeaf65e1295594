import { describe, expect, it } from 'vitest';
import { judgeFamily } from './family.js';

describe('judgeFamily', () => {
  it('judges each test on its Holm-adjusted p, so two raw p = 0.03 lines are no longer significant together', () => {
    const v = judgeFamily([
      { pValue: 0.03, ci95: [5, 9] },
      { pValue: 0.03, ci95: [2, 4] },
    ]);
    expect(v.map((x) => x.pAdjusted)).toEqual([0.06, 0.06]);
    expect(v.every((x) => !x.significant)).toBe(true);
  });

  it('keeps one strong effect significant among null ones, and never one whose CI spans 0', () => {
    const v = judgeFamily([
      { pValue: 0.0005, ci95: [40, 60] },
      { pValue: 0.6, ci95: [-3, 4] },
      { pValue: 0.0005, ci95: [-1, 60] },
    ]);
    expect(v[0]).toEqual({ pAdjusted: 0.0015, significant: true });
    expect(v[1]?.significant).toBe(false);
    expect(v[2]?.significant).toBe(false);
  });
});
