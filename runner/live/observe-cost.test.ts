import { describe, expect, it } from 'vitest';
import { balancedOrder, summarize, type ArmRun, type CostTrial } from './observe-cost.js';

describe('balancedOrder', () => {
  it('starts half the trials with each arm, in an order the seed replays', () => {
    const order = balancedOrder(12, 42);
    expect(order.filter(([first]) => first === 'observed')).toHaveLength(6);
    expect(order.every(([a, b]) => a !== b)).toBe(true);
    expect(balancedOrder(12, 42)).toEqual(order);
    // Not simply alternating: some seed among a few gives two equal neighbours.
    expect([1, 2, 3, 4, 5].some((seed) => balancedOrder(12, seed).some((t, i, all) => i > 0 && t[0] === all[i - 1]![0]))).toBe(true);
  });

  it('splits an odd number of trials as evenly as possible', () => {
    for (const seed of [1, 2, 3, 4]) {
      const observedFirst = balancedOrder(5, seed).filter(([first]) => first === 'observed').length;
      expect([2, 3]).toContain(observedFirst);
    }
  });
});

describe('summarize', () => {
  const arm = (a: ArmRun['arm'], p50Us: number, o: Partial<ArmRun> = {}): ArmRun => ({
    arm: a,
    p50Us,
    p99Us: p50Us * 4,
    valid: true,
    invalidReason: null,
    wallS: 2,
    prometheusCpuUs: a === 'observed' ? 10_000 : 0,
    runnerCpuUs: 100_000,
    sidecarUsPerRequest: a === 'observed' ? 60 : 50,
    loadAvg1m: 1,
    ...o,
  });
  const trial = (t: number, observed: ArmRun, unobserved: ArmRun): CostTrial => ({
    trial: t,
    order: ['observed', 'unobserved'],
    observed,
    unobserved,
  });

  it('pairs only trials whose two runs are valid and gives CPU as % of one core over the arm', () => {
    const trials = [
      trial(1, arm('observed', 1100), arm('unobserved', 1000)),
      trial(2, arm('observed', 1200), arm('unobserved', 1000)),
      trial(3, arm('observed', 900), arm('unobserved', 5000, { valid: false, invalidReason: 'fell behind' })),
    ];
    const s = summarize(trials, 1);
    expect(s.n).toBe(2);
    // Median of +100 and +200; the invalid trial's −4100 is left out.
    expect(s.p50.deltaUs).toBe(150);
    // 3 × 10 ms of Prometheus CPU over 3 × 2 s = 0.5% of one core; paused: 0.
    expect(s.prometheusCpuPct).toBeCloseTo(0.5, 6);
    expect(s.prometheusPausedCpuPct).toBe(0);
    expect(s.runnerCpuPct.observed).toBeCloseTo(5, 6);
    expect(s.sidecarCpu).toMatchObject({ deltaUs: 10, n: 2 });
  });
});
