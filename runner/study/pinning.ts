import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Cores below which the load generator and the system under test are not pinned apart. */
export const PIN_MIN_CORES = 4;

/** What a study does about CPU affinity: disjoint CPU sets, or why none. */
export type PinPlan = { pinned: true; loadGenerator: number[]; system: number[] } | { pinned: false; reason: string };

/** `0-3,6` → [0, 1, 2, 3, 6] (the kernel's Cpus_allowed_list format). */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [lo, hi] = part.split('-').map(Number);
    if (lo === undefined || !Number.isInteger(lo)) continue;
    for (let c = lo; c <= (hi ?? lo); c++) out.push(c);
  }
  return out;
}

/** [0, 1, 2, 5] → `0,1,2,5`: a list `taskset -c` takes. */
export const formatCpuList = (cpus: readonly number[]): string => cpus.join(',');

/** The CPUs this process may run on, from /proc/self/status; null where unreadable. */
export function allowedCpus(): number[] | null {
  try {
    const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] ? parseCpuList(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Splits the CPUs this process may use into disjoint sets for the load generator (the runner, its
 * in-process autocannon and any k6 child) and the system under test (PostgreSQL, identity, IdP,
 * sidecars), when there are at least {@link PIN_MIN_CORES}: the generator gets a quarter (at least
 * one), the system the rest. With fewer, pinning would leave one side a single core it must share
 * with the kernel and every other tenant, which distorts more than sharing does: nothing is pinned.
 *
 * @param cpus the CPUs available (injectable for tests; default this process's affinity)
 */
export function planPinning(cpus: readonly number[] | null = allowedCpus(), hasTaskset = tasksetAvailable()): PinPlan {
  if (cpus === null) return { pinned: false, reason: 'not pinned: the CPU affinity is not readable (/proc/self/status)' };
  if (cpus.length < PIN_MIN_CORES) {
    return {
      pinned: false,
      reason: `not pinned: ${cpus.length} cores (< ${PIN_MIN_CORES}); the load generator and the system under test share CPUs ${formatCpuList(cpus)}`,
    };
  }
  if (!hasTaskset)
    return { pinned: false, reason: `not pinned: no taskset (util-linux) on PATH although ${cpus.length} cores are available` };
  const k = Math.max(1, Math.floor(cpus.length / 4));
  return { pinned: true, loadGenerator: cpus.slice(0, k), system: cpus.slice(k) };
}

/**
 * The load generator's CPUs split between the orchestrator (the runner, k6 children) and autocannon's
 * load process (runner/engines/load-process.ts), so the load loop is pinned away from the
 * orchestrator: with two or more, the orchestrator keeps the first and the load process gets the
 * rest; with one, both share it (`loadProcess` is then that same CPU). Only for the autocannon
 * engine: k6 runs as the orchestrator's child and keeps the whole set.
 */
export function splitLoadGenerator(loadGenerator: readonly number[]): { orchestrator: number[]; loadProcess: number[] } {
  if (loadGenerator.length < 2) return { orchestrator: [...loadGenerator], loadProcess: [...loadGenerator] };
  return { orchestrator: loadGenerator.slice(0, 1), loadProcess: loadGenerator.slice(1) };
}

/** One sentence for study.machine.pinning. */
export function describePinning(plan: PinPlan): string {
  return plan.pinned
    ? `pinned with taskset: load generator on CPUs ${formatCpuList(plan.loadGenerator)}, system under test on CPUs ${formatCpuList(plan.system)}`
    : plan.reason;
}

/** `cmd args` started under `taskset -c <cpus>` (taskset execs the command, so the pid is the command's). */
export function withAffinity(cmd: string, args: readonly string[], cpus: readonly number[] | null): { cmd: string; args: string[] } {
  if (cpus === null || cpus.length === 0) return { cmd, args: [...args] };
  return { cmd: 'taskset', args: ['-c', formatCpuList(cpus), cmd, ...args] };
}

function tasksetAvailable(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pins every thread of `pid` to `cpus` (`taskset -a -p -c`); what it forks or starts later inherits
 * the mask. Throws when taskset is missing (code ENOENT) or fails (the pid is gone).
 */
export function pinProcess(pid: number, cpus: readonly number[]): void {
  execFileSync('taskset', ['-a', '-p', '-c', formatCpuList(cpus), String(pid)], { stdio: 'ignore' });
}

/** Pins every thread of this process (the load generator) to `cpus`; later children inherit it. */
export function pinSelf(cpus: readonly number[]): void {
  pinProcess(process.pid, cpus);
}
