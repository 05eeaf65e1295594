import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { processCpuUs } from '../study/cpu.js';
import { allThreadsStopped, balancedOrder, prometheusSwitch, summarize, type ArmRun, type CostTrial } from './observe-cost.js';

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

describe('allThreadsStopped', () => {
  it("is false while any thread still runs, even when the leader's own state says stopped", async () => {
    const root = await mkdtemp(join(tmpdir(), 'authlab-proc-'));
    try {
      const task = async (tid: number, state: string) => {
        await mkdir(join(root, '42', 'task', String(tid)), { recursive: true });
        await writeFile(join(root, '42', 'task', String(tid), 'stat'), `${tid} (prometheus) ${state} 1 42 42 0 -1`);
      };
      await task(42, 'T'); // the leader: what /proc/42/stat reports for the whole process
      await task(43, 'R'); // a Go runtime thread still running out its timeslice
      expect(await allThreadsStopped(42, root)).toBe(false);
      await task(43, 'T');
      expect(await allThreadsStopped(42, root)).toBe(true);
      expect(await allThreadsStopped(7, root)).toBe(false); // no such process
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('prometheusSwitch', () => {
  it('resolves pause() only once every thread has stopped, so a paused process gains no CPU', async () => {
    // A process whose leader idles while a second thread spins: the leader alone stops at once.
    const child = spawn(
      process.execPath,
      ['-e', "const { Worker } = require('node:worker_threads'); new Worker('for (;;) {}', { eval: true }); setInterval(() => {}, 1000);"],
      { stdio: 'ignore' },
    );
    const sw = prometheusSwitch(child.pid!);
    try {
      await sleep(300); // the worker is up and spinning
      await sw.pause();
      expect(await allThreadsStopped(child.pid!)).toBe(true);
      const before = await processCpuUs(child.pid!);
      await sleep(300);
      expect(await processCpuUs(child.pid!)).toBe(before);
      sw.resume();
      await sleep(300);
      expect(await allThreadsStopped(child.pid!)).toBe(false);
      expect(await processCpuUs(child.pid!)).toBeGreaterThan(before!);
    } finally {
      sw.dispose();
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
});
