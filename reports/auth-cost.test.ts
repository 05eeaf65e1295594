import { describe, expect, it } from 'vitest';
import type { Comparison, Estimate, Results } from '../results/schema.js';
import { lightEstimate } from '../test/fixtures/estimate.js';
import { authCostRows, calibrationChecks, calibrationWords, findingSentence, leadingRow } from './auth-cost.js';

const est = lightEstimate;

const e2e: Comparison = {
  scenario: 'light',
  baseline: 'off',
  candidate: 'enforce',
  stat: 'p50',
  deltaUs: 40,
  ci95Us: [-500, 700],
  pValue: 0.4,
  pAdjusted: 1,
  significant: false,
  n: 12,
};

const results = (estimates: Estimate[]): Results => ({ comparisons: [e2e, { ...e2e, stat: 'p99' }], estimates }) as unknown as Results;

describe('auth cost rows and findings', () => {
  it('sets every estimator beside the end-to-end p50 and leads with in-sidecar time when it resolves', () => {
    const rows = authCostRows(
      results([est('in-band-auth', 6, [5, 7], 0.01), est('in-band-sidecar', 29, [25, 33], 0.01), est('cpu', 40, [36, 44], 0.01)]),
    );
    expect(rows.map((r) => r.estimator)).toEqual(['in-band-auth', 'in-band-sidecar', 'cpu', 'end-to-end']);
    expect(rows.find((r) => r.estimator === 'end-to-end')?.resolution).toBe(600);
    expect(leadingRow(rows)?.estimator).toBe('in-band-sidecar');
    const s = findingSentence(rows)!;
    expect(s).toMatch(/^\+29 µs \[25, 33\] µs per request, by in-band: time inside the sidecars/);
    expect(s).toContain('resolution ±4 µs');
    expect(s).toContain('CPU: +40 CPU µs/request (+0.040 vCPU per 1,000 req/s)');
  });

  it('gives the CPU cost by the process counters when they resolve it, else by the auth stages’ own CPU', () => {
    const unresolved = authCostRows(
      results([est('in-band-sidecar', 29, [25, 33], 0.01), est('in-band-auth-cpu', 31, [29, 33], 0.01), est('cpu', 36, [-15, 105], 0.3)]),
    );
    expect(leadingRow(unresolved, 'cpu-us-per-request')?.estimator).toBe('in-band-auth-cpu');
    const s = findingSentence(unresolved)!;
    expect(s).toContain(
      'CPU: +31 CPU µs/request (+0.031 vCPU per 1,000 req/s) [29, 33] by in-band CPU: sidecar CPU in the sign + verify stages (resolution ±2 CPU µs/request)',
    );
    // The whole-process figure is still said, with how little it resolves.
    expect(s).toContain('CPU: sidecar CPU time per request: n.s. [−15, 105] CPU µs/request, resolution ±60 CPU µs/request');

    const resolved = authCostRows(results([est('in-band-auth-cpu', 31, [29, 33], 0.01), est('cpu', 40, [36, 44], 0.01)]));
    expect(leadingRow(resolved, 'cpu-us-per-request')?.estimator).toBe('cpu');
  });

  it('says what was ruled out, with the finest resolution, when nothing is significant after adjustment', () => {
    const rows = authCostRows(results([est('in-band-auth', 1, [-2, 3], 0.4), est('in-band-sidecar', 3, [-5, 9], 0.4)]));
    expect(leadingRow(rows)?.estimator).toBe('in-band-auth');
    expect(findingSentence(rows)).toMatch(/^no cost resolved: within ±2.5 µs by in-band: sign \+ verify/);
  });
});

describe('calibration checks', () => {
  it('says which estimator recovered the injected wait (enforce − observe), allowing the 1 µs in-band quantum', () => {
    const obs = (e: Estimate): Estimate => ({ ...e, baseline: 'observe' });
    const r = {
      study: { calibrateUs: 50 },
      comparisons: [{ ...e2e, baseline: 'observe', deltaUs: 90, ci95Us: [-200, 240] }],
      estimates: [obs(est('in-band-auth', 51, [51, 52], 0.001)), obs(est('in-band-sidecar', 58, [55, 62], 0.001))],
    } as unknown as Results;
    const checks = calibrationChecks(r);
    expect(checks.map((c) => [c.estimator, c.covered, calibrationWords(c)])).toEqual([
      ['in-band-auth', true, 'recovered (significant, CI covers the truth)'],
      ['in-band-sidecar', false, 'missed (CI excludes the truth)'],
      ['end-to-end', true, 'not resolved (CI covers the truth but also 0)'],
    ]);
  });
});
