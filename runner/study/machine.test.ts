import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { MachineRecorder, PIN_MIN_CORES } from './machine.js';

describe('MachineRecorder', () => {
  it('records load average at start, end and run boundaries, steal, affinity and what was pinned', () => {
    const m = new MachineRecorder();
    const at = m.sample();
    const r = m.result();
    expect(at).toBeGreaterThanOrEqual(0);
    expect(r.cores).toBe(availableParallelism());
    expect(r.loadAvgStart).toHaveLength(3);
    expect(r.loadAvgEnd).toHaveLength(3);
    expect(r.loadAvg1mMax).toBeGreaterThanOrEqual(at);
    if (process.platform === 'linux') expect(r.affinity).toMatch(/^\d/);
    expect(r.pinning).toMatch(r.cores < PIN_MIN_CORES ? /^not pinned: \d+ cores \(< 4\)/ : /^not pinned/);
  });
});
