import { describe, expect, it } from 'vitest';
import { processCpuUs, sampleCpu } from './cpu.js';

describe('processCpuUs', () => {
  it("agrees with node's own CPU counter over 200 ms of busy work", async () => {
    const before = await processCpuUs(process.pid);
    if (before === undefined) return; // not Linux: nothing to read
    const own0 = process.cpuUsage();
    // Spin until 200 ms of CPU (not wall time: the host may be busy) have been used.
    while (process.cpuUsage(own0).user < 200_000) {
      // spin
    }
    const after = (await processCpuUs(process.pid))!;
    const own = process.cpuUsage(own0);
    // Other threads (GC, the test runner's) add a little; 10 ms ticks at worst.
    expect(after - before).toBeGreaterThan(own.user * 0.8);
    expect(after - before).toBeLessThan((own.user + own.system) * 1.5 + 20_000);
  });

  it('leaves out a process that does not exist', async () => {
    const m = await sampleCpu(new Map([['gone', 2 ** 22 + 12345]]));
    expect(m.has('gone')).toBe(false);
  });
});
