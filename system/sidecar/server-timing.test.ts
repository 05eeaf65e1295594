import { describe, expect, it } from 'vitest';
import { CPU_SAMPLE_EVERY, CPU_SAMPLES_PER_S, CpuStage, serverTiming } from './server-timing.js';

describe('serverTiming', () => {
  it('writes each stage run, CPU entries beside their stage, total last', () => {
    expect(serverTiming(0.0123, 0.3, -1, -1, 0.5, 0.0101)).toBe('verify;dur=0.012, verify-cpu;dur=0.010, db;dur=0.300, total;dur=0.500');
    expect(serverTiming(-1, -1, 0.9, 0.004, 0.95, -1, 0.003)).toBe(
      'sign;dur=0.004, sign-cpu;dur=0.003, upstream;dur=0.900, total;dur=0.950',
    );
    expect(serverTiming(-1, 0.3, -1, -1, 0.34)).toBe('db;dur=0.300, total;dur=0.340');
  });
});

describe('CpuStage', () => {
  it('reads CPU spent, not time waited', async () => {
    const stage = new CpuStage(() => 0); // the first request of each block
    const spin = stage.start();
    for (let i = 1; i < CPU_SAMPLE_EVERY; i++) expect(stage.start()).toBe(-1);
    // 20 ms of this thread's CPU, counted by the thread clock (4 ms ticks here), however long a busy
    // machine makes that take in wall time.
    const t0 = process.threadCpuUsage();
    const spent = () => {
      const t = process.threadCpuUsage(t0);
      return (t.user + t.system) / 1000;
    };
    while (spent() < 20);
    expect(stage.ms(spin)).toBeGreaterThanOrEqual(15);

    const sleep = stage.start();
    await new Promise((r) => setTimeout(r, 100)); // 100 ms waited, next to no CPU (the test runner's other threads may run a little)
    expect(stage.ms(sleep)).toBeLessThan(50);
  });

  it(`measures exactly one request in each block of ${CPU_SAMPLE_EVERY}, at a place that varies`, () => {
    let clockMs = 0;
    const stage = new CpuStage(Math.random, () => (clockMs += 80)); // a block of 8 every 80 ms: 100 req/s
    const blocks = 2000;
    const measured = Array.from({ length: blocks * CPU_SAMPLE_EVERY }, () => stage.start() >= 0);
    for (let b = 0; b < blocks; b++)
      expect(measured.slice(b * CPU_SAMPLE_EVERY, (b + 1) * CPU_SAMPLE_EVERY).filter(Boolean)).toHaveLength(1);
    // Four paced connections arrive in turn: each one's requests must be measured about as often as the
    // others' (every 8th would measure only one connection's, all run long). Expected 500 each of 2,000.
    const byConnection = [0, 1, 2, 3].map((c) => measured.filter((m, i) => m && i % 4 === c).length);
    for (const count of byConnection) expect(count).toBeGreaterThan(350);
    expect(stage.ms(-1)).toBe(-1);
  });

  it(`grows its blocks above ${CPU_SAMPLES_PER_S * CPU_SAMPLE_EVERY} req/s, so a busy sidecar measures about ${CPU_SAMPLES_PER_S} a second`, () => {
    let clockMs = 0;
    const stage = new CpuStage(Math.random, () => clockMs);
    const measuredIn = (requests: number, gapMs: number) =>
      Array.from({ length: requests }, () => ((clockMs += gapMs), stage.start())).filter((o) => o >= 0).length;
    expect(measuredIn(CPU_SAMPLE_EVERY, 1 / 8)).toBe(1); // 8,000 req/s
    expect(stage.blockSize()).toBe(8000 / CPU_SAMPLES_PER_S);
    expect(measuredIn(10 * stage.blockSize(), 1 / 8)).toBe(10);
    expect(stage.blockSize()).toBe(8000 / CPU_SAMPLES_PER_S);
    // Slow again (100 req/s): back to one in 8.
    measuredIn(stage.blockSize(), 10);
    expect(stage.blockSize()).toBe(CPU_SAMPLE_EVERY);
    expect(measuredIn(8 * CPU_SAMPLE_EVERY, 10)).toBe(8);
  });
});
