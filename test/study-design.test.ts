import { describe, expect, it } from 'vitest';
import { RUN_MODES } from '../system/protocol/modes.js';
import { cyclicLatinSquare, isLatinSquare, randomLatinSquare } from '../runner/study/latin-square.js';
import { planTrials } from '../runner/study/design.js';
import { mulberry32 } from '../results/stats/index.js';
import { compareModes } from '../runner/study/comparisons.js';
import type { RunRecord } from '../results/schema.js';
import type { RunMode } from '../system/protocol/modes.js';

describe('Latin squares', () => {
  it('cyclic and randomized squares are Latin (each mode once per trial and once per pair)', () => {
    expect(isLatinSquare(cyclicLatinSquare(4))).toBe(true);
    const rand = mulberry32(7);
    for (let i = 0; i < 50; i++) expect(isLatinSquare(randomLatinSquare(4, rand))).toBe(true);
    expect(
      isLatinSquare([
        [0, 1],
        [0, 1],
      ]),
    ).toBe(false);
  });

  it('randomization actually varies the square across seeds', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) seen.add(JSON.stringify(randomLatinSquare(4, mulberry32(seed))));
    expect(seen.size).toBeGreaterThan(5);
  });
});

describe('trial plan', () => {
  it('interleaved, 4 pairs: every trial runs the four modes at once, every pair runs each mode once per block of 4', () => {
    const plan = planTrials({ design: 'interleaved', pairs: 4, trials: 8, modes: RUN_MODES, seed: 42 });
    expect(plan).toHaveLength(8);
    for (const t of plan) {
      expect(t.steps).toHaveLength(1);
      expect(new Set(t.steps[0]?.map((a) => a.mode)).size).toBe(4);
      expect(t.steps[0]?.map((a) => a.pair)).toEqual([1, 2, 3, 4]);
    }
    for (const block of [plan.slice(0, 4), plan.slice(4, 8)]) {
      for (let pair = 1; pair <= 4; pair++) {
        const modes = block.map((t) => t.steps[0]?.find((a) => a.pair === pair)?.mode);
        expect(new Set(modes).size).toBe(4);
      }
    }
  });

  it('interleaved, 2 pairs: a trial covers 2 modes and the rotation covers all 4 within a block', () => {
    const plan = planTrials({ design: 'interleaved', pairs: 2, trials: 4, modes: RUN_MODES, seed: 3 });
    const count = new Map<RunMode, number>();
    for (const t of plan) {
      const modes = t.steps[0]?.map((a) => a.mode) ?? [];
      expect(new Set(modes).size).toBe(2);
      for (const m of modes) count.set(m, (count.get(m) ?? 0) + 1);
    }
    expect([...count.values()]).toEqual([2, 2, 2, 2]);
  });

  it('interleaved, 8 pairs: each mode runs on two pairs per trial', () => {
    const plan = planTrials({ design: 'interleaved', pairs: 8, trials: 4, modes: RUN_MODES, seed: 3 });
    for (const t of plan) {
      for (const m of RUN_MODES) expect(t.steps[0]?.filter((a) => a.mode === m)).toHaveLength(2);
    }
  });

  it('sequential: pair 1 only, all modes one after another in a shuffled order', () => {
    const plan = planTrials({ design: 'sequential', pairs: 4, trials: 6, modes: RUN_MODES, seed: 9 });
    const orders = new Set<string>();
    for (const t of plan) {
      expect(t.steps).toHaveLength(4);
      expect(t.steps.every((s) => s.length === 1 && s[0]?.pair === 1)).toBe(true);
      const order = t.steps.map((s) => s[0]?.mode);
      expect(new Set(order).size).toBe(4);
      orders.add(order.join());
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it('is reproducible from its seed and differs with another seed', () => {
    const a = planTrials({ design: 'interleaved', pairs: 4, trials: 8, modes: RUN_MODES, seed: 123 });
    const b = planTrials({ design: 'interleaved', pairs: 4, trials: 8, modes: RUN_MODES, seed: 123 });
    const c = planTrials({ design: 'interleaved', pairs: 4, trials: 8, modes: RUN_MODES, seed: 124 });
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('rejects a plan it cannot make, saying what is wrong', () => {
    expect(() => planTrials({ design: 'interleaved', pairs: 4, trials: 0, modes: RUN_MODES, seed: 1 })).toThrow(
      /trials must be a positive integer/,
    );
  });
});

function run(mode: RunMode, trial: number, p50: number, p99: number, valid = true): RunRecord {
  return {
    id: `x-${trial}-${mode}`,
    scenario: 'light',
    mode,
    pair: 1,
    trial,
    engine: 'autocannon',
    model: 'closed',
    rate: null,
    connections: 1,
    durationS: 1,
    warmupS: 0,
    requests: { ok: 100, errors: {} },
    latencyUs: { p50, p90: p99, p99, p999: p99, max: p99, mean: p50, count: 100, hdr: '' },
    serverTimingUs: {},
    valid,
    invalidReason: valid ? null : 'test',
  };
}

describe('comparisons', () => {
  it('finds a paired per-trial difference despite drift across trials, with a CI and p-value', () => {
    const runs: RunRecord[] = [];
    for (let t = 1; t <= 8; t++) {
      const drift = t * 300; // the machine gets slower trial after trial; pairing cancels it
      runs.push(run('direct', t, 800 + drift, 2000 + drift), run('off', t, 1000 + drift, 2500 + drift));
      runs.push(run('observe', t, 1000 + drift + (t % 2), 2500 + drift), run('enforce', t, 1040 + drift + (t % 3), 2600 + drift));
    }
    const cmp = compareModes(runs, { seed: 1 });
    expect(cmp).toHaveLength(6);
    const auth = cmp.find((c) => c.baseline === 'off' && c.candidate === 'enforce' && c.stat === 'p50');
    expect(auth?.deltaUs).toBeGreaterThanOrEqual(40);
    expect(auth?.deltaUs).toBeLessThanOrEqual(42);
    expect(auth?.ci95Us[0]).toBeGreaterThan(0);
    expect(auth?.significant).toBe(true);
    expect(auth?.pValue).toBeLessThan(0.05);
    expect(auth?.n).toBe(8);
    const path = cmp.find((c) => c.baseline === 'direct' && c.candidate === 'off' && c.stat === 'p99');
    expect(path?.deltaUs).toBe(500);
    for (const c of cmp) {
      expect(Number.isInteger(c.deltaUs)).toBe(true);
      expect(c.ci95Us.every(Number.isInteger)).toBe(true);
    }
  });

  it('calls a difference whose CI spans zero not significant, and ignores invalid runs', () => {
    const runs: RunRecord[] = [];
    const noise = [5, -7, 3, -2, 8, -6, 1, -4];
    noise.forEach((n, i) => runs.push(run('off', i + 1, 1000, 2000), run('enforce', i + 1, 1000 + n, 2000 - n)));
    runs.push(run('enforce', 9, 99_999, 99_999, false), run('off', 9, 1000, 2000));
    const cmp = compareModes(runs, { seed: 1 }).filter((c) => c.candidate === 'enforce');
    expect(cmp).toHaveLength(2);
    for (const c of cmp) {
      expect(c.significant).toBe(false);
      expect(c.ci95Us[0]).toBeLessThanOrEqual(0);
      expect(c.ci95Us[1]).toBeGreaterThanOrEqual(0);
      expect(c.n).toBe(8);
    }
  });
});
