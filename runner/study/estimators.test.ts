import { describe, expect, it } from 'vitest';
import type { RunMode } from '../../system/protocol/modes.js';
import type { RunRecord } from '../../results/schema.js';
import { estimateAuthCost } from './estimators.js';
import { derivedStages, parseServerTiming, RunRecorder } from '../engines/histogram.js';

function run(mode: RunMode, trial: number, authUs: number, inSidecarUs: number, cpuUs?: number, authCpuUs?: number): RunRecord {
  return {
    id: `light-t${trial}-${mode}`,
    scenario: 'light',
    mode,
    pair: 1,
    trial,
    engine: 'autocannon',
    model: 'closed',
    rate: 200,
    connections: 1,
    durationS: 1,
    warmupS: 0,
    requests: { ok: 200, errors: {} },
    latencyUs: { p50: 900, p90: 1500, p99: 3000, p999: 3000, max: 3000, mean: 1000, count: 200, hdr: '' },
    serverTimingUs: {
      auth: { p50: authUs, p99: authUs },
      'in-sidecar': { p50: inSidecarUs, p99: inSidecarUs },
      // Each side's sampled CPU entry: the caller's sign and the target's verify.
      ...(authCpuUs ? { 'sign-cpu': { p50: 1, p99: 1 }, 'peer-verify-cpu': { p50: authCpuUs - 1, p99: authCpuUs - 1 } } : {}),
    },
    ...(cpuUs === undefined ? {} : { cpu: { sidecarUs: cpuUs * 200, requests: 200, sidecarUsPerRequest: cpuUs } }),
    valid: true,
    invalidReason: null,
  };
}

describe('estimateAuthCost', () => {
  it('estimates enforce − off by each in-band figure and by CPU, paired by trial, despite drift', () => {
    const runs: RunRecord[] = [];
    for (let t = 1; t <= 10; t++) {
      const drift = t * 20; // a slower host trial after trial; pairing cancels it
      runs.push(
        run('off', t, 0, 150 + drift, 300 + drift, 0),
        run('enforce', t, 6 + (t % 2), 180 + drift + (t % 3), 340 + drift, 4 + (t % 2)),
      );
    }
    const est = estimateAuthCost(runs, { seed: 1 });
    const by = (name: string) => est.find((e) => e.baseline === 'off' && e.candidate === 'enforce' && e.estimator === name);
    expect(by('in-band-auth')).toMatchObject({ unit: 'us', n: 10, significant: true, baselineValue: 0 });
    expect(by('in-band-auth')!.delta).toBeGreaterThanOrEqual(6);
    expect(by('in-band-auth')!.delta).toBeLessThanOrEqual(7);
    expect(by('in-band-sidecar')!.delta).toBeGreaterThanOrEqual(30);
    expect(by('in-band-sidecar')!.delta).toBeLessThanOrEqual(32);
    expect(by('cpu')).toMatchObject({ unit: 'cpu-us-per-request', delta: 40, ci95: [40, 40] });
    expect(by('in-band-auth-cpu')).toMatchObject({ unit: 'cpu-us-per-request', n: 10, significant: true, baselineValue: 0 });
    expect(by('in-band-auth-cpu')!.delta).toBeGreaterThanOrEqual(4);
    expect(by('in-band-auth-cpu')!.delta).toBeLessThanOrEqual(5);
    // Auth is 0 in both direct and off: no in-band auth estimate (time or CPU) of direct → off.
    expect(est.filter((e) => e.baseline === 'direct').map((e) => e.estimator)).not.toContain('in-band-auth-cpu');
    // Modes that were not run give no estimate.
    expect(est.some((e) => e.candidate === 'observe')).toBe(false);
  });

  it('leaves out of the in-band CPU estimate a run whose auth ran but had no request measured', () => {
    const runs: RunRecord[] = [];
    for (let t = 1; t <= 6; t++) {
      const enforce = run('enforce', t, 6, 180, undefined, t === 3 ? undefined : 40);
      // Auth ran (its time stages are there); only trial 3's few requests all missed the CPU sample.
      enforce.serverTimingUs.sign = { p50: 8, p99: 8 };
      enforce.serverTimingUs['peer-verify'] = { p50: 30, p99: 30 };
      runs.push(run('off', t, 0, 150), enforce);
    }
    const cpu = estimateAuthCost(runs, { seed: 1 }).find((e) => e.estimator === 'in-band-auth-cpu');
    expect(cpu).toMatchObject({ n: 5, delta: 40, baselineValue: 0, candidateValue: 40 });
  });

  it('adds the extra comparisons it is asked for (calibration: observe → enforce)', () => {
    const runs = [1, 2, 3].flatMap((t) => [run('observe', t, 5, 160), run('enforce', t, 55, 210)]);
    const est = estimateAuthCost(runs, { seed: 1, extra: [['observe', 'enforce']] });
    expect(est.find((e) => e.estimator === 'in-band-auth')?.delta).toBe(50);
  });
});

describe('derivedStages', () => {
  it('sums sign and the target verify as auth, and sidecar time net of database and hop', () => {
    const stages = parseServerTiming(
      'sign;dur=0.004, upstream;dur=0.900, total;dur=0.950, peer-verify;dur=0.008, peer-db;dur=0.500, peer-total;dur=0.600',
    );
    expect(derivedStages(stages)).toEqual({ auth: 12, inSidecar: 50 + 100 });
  });

  it('records a response whose CPU was measured only in its CPU entries, the others in their times', () => {
    const rec = new RunRecorder(0, 10_000);
    rec.record(
      1,
      1000,
      200,
      'sign;dur=0.004, upstream;dur=0.900, total;dur=0.950, peer-verify;dur=0.030, peer-db;dur=0.500, peer-total;dur=0.600',
    );
    // Sampled on both sides: its times are longer by the CPU clock's reads, so only its CPU counts.
    rec.record(
      2,
      1100,
      200,
      'sign;dur=0.020, sign-cpu;dur=0.003, upstream;dur=0.990, total;dur=1.050, ' +
        'peer-verify;dur=0.045, peer-verify-cpu;dur=0.021, peer-db;dur=0.500, peer-total;dur=0.620',
    );
    const seen = Object.fromEntries(
      Object.entries(rec.serverTiming).map(([stage, h]) => [stage, [h.totalCount, h.getValueAtPercentile(50)]]),
    );
    expect(seen).toMatchObject({ sign: [1, 4], 'peer-verify': [1, 30], auth: [1, 34], 'sign-cpu': [1, 3], 'peer-verify-cpu': [1, 21] });
    expect(seen['upstream']).toEqual([1, 900]);
  });

  it('reads the direct path (no caller) and auth off (no sign, no verify)', () => {
    expect(derivedStages(parseServerTiming('db;dur=0.300, total;dur=0.340'))).toEqual({ auth: 0, inSidecar: 40 });
    expect(derivedStages(parseServerTiming('db;dur=0.300'))).toBeNull();
  });
});

describe('estimateAuthCost on runs short of their schedule', () => {
  it('uses runs invalid only for latency (under-delivered), never runs invalid for other reasons', () => {
    const runs: RunRecord[] = [];
    for (let t = 1; t <= 6; t++) {
      const short = { valid: false, invalidReason: 'delivered 100 of 150', invalidFor: 'latency' as const };
      runs.push({ ...run('off', t, 0, 150), ...(t % 2 ? short : {}) }, run('enforce', t, 6, 180));
    }
    runs.push({ ...run('off', 7, 0, 9999), valid: false, invalidReason: '5 of 100 responses failed' }, run('enforce', 7, 6, 180));
    const e = estimateAuthCost(runs, { seed: 1 }).find((x) => x.estimator === 'in-band-sidecar');
    expect(e).toMatchObject({ n: 6, delta: 30 });
  });
});
