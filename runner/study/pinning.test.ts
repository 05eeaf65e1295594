import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { describePinning, formatCpuList, parseCpuList, planPinning, splitLoadGenerator, withAffinity } from './pinning.js';
import { setSystemCpus, withParentDeathSignal } from '../platforms/local/lifeline.js';
import { MachineRecorder } from './machine.js';

describe('planPinning', () => {
  it('leaves a 2-core host unpinned and says why', () => {
    const plan = planPinning([0, 1], true);
    expect(plan.pinned).toBe(false);
    expect(describePinning(plan)).toBe('not pinned: 2 cores (< 4); the load generator and the system under test share CPUs 0,1');
  });

  it('gives the load generator a quarter of ≥ 4 cores and the system under test the rest, disjoint', () => {
    expect(planPinning([0, 1, 2, 3], true)).toEqual({ pinned: true, loadGenerator: [0], system: [1, 2, 3] });
    const eight = planPinning(parseCpuList('0-7'), true);
    expect(eight).toEqual({ pinned: true, loadGenerator: [0, 1], system: [2, 3, 4, 5, 6, 7] });
    // An affinity mask with holes (a container's cpuset) is split as given.
    expect(planPinning(parseCpuList('2-3,6-7'), true)).toEqual({ pinned: true, loadGenerator: [2], system: [3, 6, 7] });
  });

  it("pins autocannon's load process away from the orchestrator when the load generator has two CPUs or more", () => {
    expect(splitLoadGenerator([0])).toEqual({ orchestrator: [0], loadProcess: [0] });
    expect(splitLoadGenerator([0, 1])).toEqual({ orchestrator: [0], loadProcess: [1] });
    const eight = planPinning(parseCpuList('0-7'), true);
    expect(eight.pinned && splitLoadGenerator(eight.loadGenerator)).toEqual({ orchestrator: [0], loadProcess: [1] });
  });

  it('does not pin without taskset, and says so', () => {
    const plan = planPinning([0, 1, 2, 3], false);
    expect(plan.pinned).toBe(false);
    expect(describePinning(plan)).toMatch(/no taskset/);
  });

  it('records the plan in study.machine', () => {
    const r = new MachineRecorder({ pinned: true, loadGenerator: [0], system: [1, 2, 3] }).result();
    expect(r.pinning).toBe('pinned with taskset: load generator on CPUs 0, system under test on CPUs 1,2,3');
    expect(r.affinity).toBe('load generator 0; system under test 1,2,3');
  });
});

describe('starting components under taskset', () => {
  it('wraps the command only when a CPU set is given, keeping setpriv inside', () => {
    expect(withAffinity('node', ['x.js'], null)).toEqual({ cmd: 'node', args: ['x.js'] });
    expect(withAffinity('node', ['x.js'], [1, 2, 3])).toEqual({ cmd: 'taskset', args: ['-c', '1,2,3', 'node', 'x.js'] });
    setSystemCpus([1, 2, 3]);
    try {
      const c = withParentDeathSignal('node', ['x.js'], 'TERM');
      expect(c.cmd).toBe('taskset');
      expect(c.args.slice(0, 2)).toEqual(['-c', '1,2,3']);
      expect(c.args.slice(-2)).toEqual(['node', 'x.js']);
    } finally {
      setSystemCpus(null);
    }
    expect(withParentDeathSignal('node', ['x.js'], 'TERM').cmd).not.toBe('taskset');
  });

  it.skipIf(process.platform !== 'linux')('a child started that way runs on exactly the given CPUs, under its own pid', async () => {
    // This host may have 2 cores only: pinning to one of them still checks the mechanism for real.
    const own = parseCpuList(/Cpus_allowed_list:\s*(\S+)/.exec(await readFile('/proc/self/status', 'utf8'))?.[1] ?? '0');
    const target = [own[own.length - 1] as number];
    setSystemCpus(target);
    const c = (() => {
      try {
        return withParentDeathSignal('sleep', ['30'], 'TERM');
      } finally {
        setSystemCpus(null);
      }
    })();
    const child = spawn(c.cmd, c.args, { stdio: 'ignore' });
    try {
      // taskset and setpriv exec in place: wait until the pid runs `sleep`, then read its affinity.
      let comm = '';
      for (let i = 0; i < 100 && comm !== 'sleep'; i++) {
        await new Promise((r) => setTimeout(r, 20));
        comm = (await readFile(`/proc/${child.pid}/comm`, 'utf8')).trim();
      }
      expect(comm).toBe('sleep');
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      expect(/Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1]).toBe(formatCpuList(target));
    } finally {
      child.kill('SIGTERM');
    }
  });
});
