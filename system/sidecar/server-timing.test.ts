import { describe, expect, it } from 'vitest';
import { CPU_SAMPLE_EVERY, CpuStage, serverTiming } from './server-timing.js';

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
  it(`measures one request in ${CPU_SAMPLE_EVERY}, and reads CPU spent, not time waited`, async () => {
    const stage = new CpuStage();
    const starts = Array.from({ length: 2 * CPU_SAMPLE_EVERY }, () => stage.start());
    expect(starts.map((s) => s >= 0)).toEqual(Array.from({ length: 2 * CPU_SAMPLE_EVERY }, (_, i) => (i + 1) % CPU_SAMPLE_EVERY === 0));
    expect(stage.ms(-1)).toBe(-1);

    for (let i = 1; i < CPU_SAMPLE_EVERY; i++) stage.start();
    const spin = stage.start();
    const end = performance.now() + 20;
    while (performance.now() < end); // 20 ms of CPU on this thread
    expect(stage.ms(spin)).toBeGreaterThanOrEqual(15); // a preemption may take a few ms of the 20

    for (let i = 1; i < CPU_SAMPLE_EVERY; i++) stage.start();
    const sleep = stage.start();
    await new Promise((r) => setTimeout(r, 50)); // 50 ms waited, next to no CPU
    expect(stage.ms(sleep)).toBeLessThan(10);
  });
});
