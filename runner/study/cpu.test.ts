import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { stopProcess } from '../platforms/local/child.js';
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

  it("counts a process's children with it (a sidecar's Go data plane is the sidecar's CPU)", async () => {
    if ((await processCpuUs(process.pid)) === undefined) return;
    const me = new Map([['me', process.pid]]);
    const before = (await sampleCpu(me)).get('me')!;
    // A child that burns 300 ms of CPU, says so, and stays alive (a finished child's time leaves the count).
    const child = spawn(
      process.execPath,
      ['-e', 'const t = process.cpuUsage(); while (process.cpuUsage(t).user < 300000); console.log("done"); setInterval(() => {}, 1000);'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(child.stdout!, 'data');
      const after = (await sampleCpu(me)).get('me')!;
      expect(after - before).toBeGreaterThan(300_000 * 0.8);
      expect((await sampleCpu(new Map([['child', child.pid!]]))).get('child')!).toBeGreaterThan(300_000 * 0.8);
    } finally {
      await stopProcess(child);
    }
  });
});
