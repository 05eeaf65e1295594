import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { StudyInfo } from '../../results/schema.js';
import { describePinning, formatCpuList, PIN_MIN_CORES, type PinPlan } from './pinning.js';

export { PIN_MIN_CORES };

type Machine = NonNullable<StudyInfo['machine']>;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** [steal, total] jiffies of all CPUs from /proc/stat; null where unreadable. */
function cpuJiffies(): [number, number] | null {
  const first = readText('/proc/stat')?.split('\n')[0];
  if (!first?.startsWith('cpu ')) return null;
  const f = first.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  return [f[7] ?? 0, total];
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * The host's state over a study (study.machine): load average at the start, at the end and its
 * highest 1-minute value at any run boundary (`sample`), steal time over the study, the CPU
 * frequency governor and the CPU affinity where readable, and what was done about pinning.
 * A study's CI width tracks the load average, so every figure carries it.
 */
export class MachineRecorder {
  private readonly start = loadavg();
  private max1m = this.start[0] ?? 0;
  private readonly jiffies0 = cpuJiffies();

  /** @param plan what the study did about affinity (runner/study/pinning.ts); default: nothing, on this host's cores. */
  constructor(private readonly plan?: PinPlan) {}

  /** The 1-minute load average now (recorded per run), also kept for the study's maximum. */
  sample(): number {
    const now = round2(loadavg()[0] ?? 0);
    this.max1m = Math.max(this.max1m, now);
    return now;
  }

  result(): Machine {
    const end = loadavg();
    this.max1m = Math.max(this.max1m, end[0] ?? 0);
    const j1 = cpuJiffies();
    const steal = this.jiffies0 && j1 && j1[1] > this.jiffies0[1] ? (j1[0] - this.jiffies0[0]) / (j1[1] - this.jiffies0[1]) : null;
    const cores = availableParallelism();
    const own = /Cpus_allowed_list:\s*(\S+)/.exec(readText('/proc/self/status') ?? '')?.[1] ?? null;
    const plan = this.plan;
    const affinity = plan?.pinned
      ? `load generator ${formatCpuList(plan.loadGenerator)}; system under test ${formatCpuList(plan.system)}`
      : own;
    return {
      cores,
      loadAvgStart: this.start.map(round2),
      loadAvgEnd: end.map(round2),
      loadAvg1mMax: round2(this.max1m),
      stealPct: steal === null ? null : round2(steal * 100),
      governor: readText('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor')?.trim() ?? null,
      affinity,
      pinning: plan
        ? describePinning(plan)
        : `not pinned: ${cores < PIN_MIN_CORES ? `${cores} cores (< ${PIN_MIN_CORES})` : 'no plan was made'}; the load generator and the system under test share CPUs ${own ?? 'all'}`,
    };
  }
}
