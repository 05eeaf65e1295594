import { describe, expect, it } from 'vitest';
import { stageParts } from './stages.js';

describe('stageParts', () => {
  it('splits a caller response with forwarded peer stages into disjoint parts that add up to the p50', () => {
    // sign;dur, upstream;dur, total;dur, peer-verify;dur, peer-db;dur, peer-total;dur (system/sidecar call route)
    const parts = stageParts({ sign: 4, upstream: 700, total: 730, 'peer-verify': 27, 'peer-db': 500, 'peer-total': 540 }, 900);
    expect(parts).toEqual({
      sign: 4,
      verify: 27,
      db: 500,
      'target other': 13,
      'hop to target': 160,
      'caller other': 26,
      'outside the sidecar': 170,
    });
    expect(Object.values(parts).reduce((a, b) => a + b, 0)).toBe(900);
  });

  it('keeps upstream whole when the target stages were not forwarded', () => {
    expect(stageParts({ upstream: 4835, total: 4867 }, 5000)).toEqual({ upstream: 4835, 'caller other': 32, 'outside the sidecar': 133 });
  });

  it('treats a direct call as one sidecar', () => {
    expect(stageParts({ db: 1429, total: 1453 }, 1500)).toEqual({ db: 1429, 'sidecar other': 24, 'outside the sidecar': 47 });
  });

  it('clamps rests at zero (medians of parts do not add exactly) and needs no total', () => {
    expect(stageParts({ db: 100, total: 90 }, 80)).toEqual({ db: 100, 'sidecar other': 0, 'outside the sidecar': 0 });
    expect(stageParts({ verify: 20, db: 300 }, null)).toEqual({ verify: 20, db: 300 });
  });
});
