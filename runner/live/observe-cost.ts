import { readdir, readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadScenario } from '../../scenarios/scenario.js';
import { ALPHA, ciExcludesZero, mulberry32 } from '../../results/stats/index.js';
import type { Engine } from '../engines/types.js';
import type { Platform } from '../platforms/platform.js';
import { pairedTest } from '../study/comparisons.js';
import { processCpuUs } from '../study/cpu.js';
import { shuffled } from '../study/latin-square.js';
import { runLoadScenario } from '../study/run-load.js';
import type { LiveSeries } from './series.js';

/** The two arms of the cost study: Prometheus scraping every second, or not scraping at all. */
export type Arm = 'observed' | 'unobserved';

/** The target for Prometheus's own CPU at a 1 s scrape interval, % of one core. */
export const SCRAPE_CPU_TARGET_PCT = 2;

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s ticks. */
const TICK_US = 10_000;

/**
 * The "not scraping" arm is a Prometheus stopped with SIGSTOP and resumed with SIGCONT, by its pid.
 *
 * Why not reload a config without targets: file_sd re-reads its files only every `refresh_interval`
 * (5 s) and a reload itself costs CPU (config parse, target manager and scrape pools rebuilt), so the
 * switch would take seconds and bleed into the neighbouring runs of the other arm. A stopped process
 * does exactly nothing — no scrape, no rule evaluation, no TSDB head/WAL work, no HTTP — which is the
 * same CPU picture as a study without `--observe` (the runner's live series exist in both arms: the live
 * page is always on, only its scraper differs). What stays is its memory (resident, untouched) and its
 * idle keep-alive connections to the targets. Go's scrape tickers drop missed ticks, so SIGCONT resumes
 * with the next 1 s tick rather than a burst of catch-up scrapes.
 *
 * A stopped process keeps a SIGTERM pending, so it must be continued before it is stopped for good:
 * `dispose()` (and the process's `exit` event, for a runner that exits on an error) sends SIGCONT.
 */
export interface PrometheusSwitch {
  /** SIGSTOP; resolves once /proc says every thread of the process is stopped (state `T`). */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): void;
  readonly paused: boolean;
  /** Continues the process if paused and removes the exit hook. Idempotent. */
  dispose(): void;
}

/** The state letter of /proc/<pid>/stat (`R`, `S`, `T`, …); undefined when the process is gone. */
export function processState(pid: number): Promise<string | undefined> {
  return statState(`/proc/${pid}/stat`);
}

/** The state letter of a /proc `stat` file (a process's or one thread's); undefined when it is gone. */
async function statState(path: string): Promise<string | undefined> {
  try {
    const stat = await readFile(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/**
 * True once every thread of `pid` is stopped (`T`). A group stop reaches each thread as it next handles
 * signals: the leader's /proc/<pid>/stat can say `T` while a Go runtime thread still runs out its
 * timeslice, and that CPU (one 10 ms tick of Prometheus over a paused arm, seen in CI) would be charged
 * to the arm that claims a Prometheus doing nothing.
 */
export async function allThreadsStopped(pid: number, procRoot = '/proc'): Promise<boolean> {
  let tids: string[];
  try {
    tids = await readdir(`${procRoot}/${pid}/task`);
  } catch {
    return false;
  }
  const states = await Promise.all(tids.map((tid) => statState(`${procRoot}/${pid}/task/${tid}/stat`)));
  // A thread that exited between readdir and its stat is not running either.
  return states.every((st) => st === 'T' || st === undefined) && states.some((st) => st === 'T');
}

export function prometheusSwitch(pid: number): PrometheusSwitch {
  let paused = false;
  const resumeNow = () => {
    if (!paused) return;
    paused = false;
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone
    }
  };
  process.on('exit', resumeNow);
  return {
    get paused() {
      return paused;
    },
    async pause() {
      process.kill(pid, 'SIGSTOP');
      paused = true;
      for (let i = 0; i < 100 && !(await allThreadsStopped(pid)); i++) await sleep(10);
      if (!(await allThreadsStopped(pid))) throw new Error(`prometheus (pid ${pid}) did not stop on SIGSTOP (every thread)`);
    },
    resume: resumeNow,
    dispose() {
      resumeNow();
      process.off('exit', resumeNow);
    },
  };
}

/**
 * Per trial which arm runs first: half the trials each way (the odd one out by the seed), in an order
 * shuffled by the seed, so drift over the study and "the run after a switch" fall on both arms alike.
 */
export function balancedOrder(trials: number, seed: number): [Arm, Arm][] {
  const firsts: Arm[] = Array.from({ length: trials }, (_, i) => (i % 2 === 0 ? 'observed' : 'unobserved'));
  const rand = mulberry32(seed);
  if (trials % 2 === 1 && rand() < 0.5) firsts[trials - 1] = 'unobserved';
  return shuffled(firsts, rand).map((a) => (a === 'observed' ? ['observed', 'unobserved'] : ['unobserved', 'observed']));
}

/**
 * CPU µs of this process plus its reaped children (utime+stime+cutime+cstime of /proc/self/stat): the
 * load generator — autocannon runs in-process, a k6 run is a child reaped when the run ends. The
 * platform's components and Prometheus are children too but live on, so they never enter cutime.
 */
export async function runnerCpuUs(): Promise<number | undefined> {
  try {
    const stat = await readFile('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_US;
  } catch {
    return undefined;
  }
}

/**
 * Resolves once Prometheus has scraped every one of `targets` active targets successfully: its scrape
 * manager applies discovered targets only every 5 s, so right after `/-/ready` nothing is scraped yet
 * and an "observed" run would observe nothing.
 */
export async function waitForScraping(url: string, targets: number, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  let seen = '';
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      const res = await fetch(`${url}/api/v1/targets?state=active`);
      const body = (await res.json()) as { data: { activeTargets: { health: string; scrapeUrl: string }[] } };
      const active = body.data.activeTargets;
      seen = active.map((t) => `${t.scrapeUrl} ${t.health}`).join(', ');
      if (active.length >= targets && active.every((t) => t.health === 'up')) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline)
      throw new Error(`prometheus did not scrape all ${targets} targets within the timeout (saw: ${seen || 'none'})`);
    await sleep(200);
  }
}

/** One run of one arm. */
export interface ArmRun {
  arm: Arm;
  p50Us: number;
  p99Us: number;
  valid: boolean;
  invalidReason: string | null;
  /** Wall time of the run (mode switch, warm-up and measured window), s. */
  wallS: number;
  /** Prometheus CPU over the run, µs (≈ 0 in the unobserved arm: the proof that the pause is real). */
  prometheusCpuUs: number | undefined;
  /** The runner's CPU (load generator and live series) over the run, µs. */
  runnerCpuUs: number | undefined;
  /**
   * Both sidecars' CPU per response over the measured window (the study's run record): what being
   * scraped costs the targets shows here, not in Prometheus's own CPU. Undefined without counters.
   */
  sidecarUsPerRequest: number | undefined;
  /** 1-minute load average at the start of the run. */
  loadAvg1m: number;
}

export interface CostTrial {
  trial: number;
  order: [Arm, Arm];
  observed: ArmRun;
  unobserved: ArmRun;
}

export interface ObserveCostOptions {
  platform: Platform;
  engine: Engine;
  /** The light scenario (or another load scenario): run in enforce only, on pair 1. */
  scenario: LoadScenario;
  prometheusPid: number;
  live: LiveSeries;
  trials: number;
  /** Use the scenario's quick profile (default: full). */
  quick: boolean;
  /** Measured seconds per run (default: the profile's). */
  durationS?: number;
  seed: number;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/** Runs the trials; Prometheus is left running (not paused) when this returns or throws. */
export async function runObserveCost(o: ObserveCostOptions): Promise<CostTrial[]> {
  const sw = prometheusSwitch(o.prometheusPid);
  const scenario: LoadScenario = { ...o.scenario, modes: ['enforce'] };
  // Only what matters per run reaches the output: a run the study would drop as invalid.
  const quiet = { phase: () => {}, trial: () => {}, log: (l: string) => (l.includes(' invalid: ') ? o.log(`  ${l.trim()}`) : undefined) };
  const runArm = async (arm: Arm): Promise<ArmRun> => {
    if (arm === 'unobserved') await sw.pause();
    else sw.resume();
    const loadAvg1m = loadavg()[0] ?? 0;
    const [p0, r0] = await Promise.all([processCpuUs(o.prometheusPid), runnerCpuUs()]);
    const t0 = performance.now();
    // The study's own path: mode switch, engine run, run record with its validity checks.
    const [record] = await runLoadScenario({
      scenario,
      study: {
        engine: o.engine.name,
        scenarios: [scenario],
        quick: o.quick,
        trials: 1,
        ...(o.durationS === undefined ? {} : { durationS: o.durationS }),
        design: 'sequential',
        pairs: 1,
        live: o.live,
        ...(o.signal ? { signal: o.signal } : {}),
      },
      seed: o.seed,
      engine: o.engine,
      platform: o.platform,
      progress: quiet,
    });
    const wallS = (performance.now() - t0) / 1000;
    const [p1, r1] = await Promise.all([processCpuUs(o.prometheusPid), runnerCpuUs()]);
    if (!record) throw new Error('the engine returned no run');
    const delta = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : b - a);
    return {
      arm,
      p50Us: record.latencyUs.p50,
      p99Us: record.latencyUs.p99,
      valid: record.valid,
      invalidReason: record.invalidReason,
      wallS,
      prometheusCpuUs: delta(p0, p1),
      runnerCpuUs: delta(r0, r1),
      sidecarUsPerRequest: record.cpu?.sidecarUsPerRequest,
      loadAvg1m,
    };
  };
  const out: CostTrial[] = [];
  try {
    // One unrecorded run first, scraped: the platform's and the engine's first-run costs (JIT, pools,
    // the enforce switch) would otherwise all land on trial 1's first arm.
    await runArm('observed');
    for (const [i, order] of balancedOrder(o.trials, o.seed).entries()) {
      const first = await runArm(order[0]);
      const second = await runArm(order[1]);
      const byArm = Object.fromEntries([first, second].map((r) => [r.arm, r])) as Record<Arm, ArmRun>;
      const t: CostTrial = { trial: i + 1, order, observed: byArm.observed, unobserved: byArm.unobserved };
      out.push(t);
      o.log(formatTrial(t));
    }
  } finally {
    sw.dispose();
  }
  return out;
}

export interface CostSummary {
  /** Trials whose two runs are both valid: the paired sample. */
  n: number;
  /** Observed − unobserved p50, µs: median over trials with its bootstrap 95% CI, and the exact signed-rank p. */
  p50: { deltaUs: number; ci95Us: [number, number]; pValue: number; significant: boolean };
  p99: { deltaUs: number; ci95Us: [number, number]; pValue: number; significant: boolean };
  /** Observed − unobserved sidecar CPU per response, µs (trials where both runs have it). */
  sidecarCpu: { deltaUs: number; ci95Us: [number, number]; pValue: number; significant: boolean; n: number };
  /** Prometheus CPU over the observed arm's runs, % of one core. */
  prometheusCpuPct: number | undefined;
  /** Prometheus CPU over the unobserved arm's runs (paused: ≈ 0). */
  prometheusPausedCpuPct: number | undefined;
  /** The runner's CPU per arm, % of one core: the reference. */
  runnerCpuPct: Record<Arm, number | undefined>;
  /** 1-minute load average: lowest and highest at a run's start. */
  loadAvg1m: [number, number];
}

const pct = (runs: readonly ArmRun[], cpu: (r: ArmRun) => number | undefined): number | undefined => {
  let us = 0;
  let s = 0;
  for (const r of runs) {
    const c = cpu(r);
    if (c === undefined) return undefined;
    us += c;
    s += r.wallS;
  }
  return s > 0 ? (us / (s * 1e6)) * 100 : undefined;
};

/** The study's own paired test (runner/study/comparisons.ts) on the per-trial differences. */
export function summarize(trials: readonly CostTrial[], seed: number): CostSummary {
  const usable = trials.filter((t) => t.observed.valid && t.unobserved.valid);
  const test = (value: (r: ArmRun) => number | undefined) => {
    const diffs = usable.flatMap((t) => {
      const [o, u] = [value(t.observed), value(t.unobserved)];
      return o === undefined || u === undefined ? [] : [o - u];
    });
    if (diffs.length === 0) return { deltaUs: NaN, ci95Us: [NaN, NaN] as [number, number], pValue: NaN, significant: false, n: 0 };
    const { ci, pValue, significant } = pairedTest(diffs, { seed });
    const ci95Us: [number, number] = [Math.floor(ci.lo * 10) / 10, Math.ceil(ci.hi * 10) / 10];
    return { deltaUs: Math.round(ci.estimate * 10) / 10, ci95Us, pValue, significant, n: diffs.length };
  };
  const observed = trials.map((t) => t.observed);
  const unobserved = trials.map((t) => t.unobserved);
  const loads = trials.flatMap((t) => [t.observed.loadAvg1m, t.unobserved.loadAvg1m]);
  return {
    n: usable.length,
    p50: test((r) => r.p50Us),
    p99: test((r) => r.p99Us),
    sidecarCpu: test((r) => r.sidecarUsPerRequest),
    prometheusCpuPct: pct(observed, (r) => r.prometheusCpuUs),
    prometheusPausedCpuPct: pct(unobserved, (r) => r.prometheusCpuUs),
    runnerCpuPct: { observed: pct(observed, (r) => r.runnerCpuUs), unobserved: pct(unobserved, (r) => r.runnerCpuUs) },
    loadAvg1m: [Math.min(...loads), Math.max(...loads)],
  };
}

const f2 = (x: number | undefined) => (x === undefined ? 'n/a' : x.toFixed(2));
const run = (r: ArmRun) => `${r.p50Us}/${r.p99Us}${r.valid ? '' : ' (invalid)'}`;

/** One line per trial: order, p50/p99 of each arm, Δp50, Prometheus CPU per arm, load average. */
export function formatTrial(t: CostTrial): string {
  const promPct = (r: ArmRun) => (r.prometheusCpuUs === undefined ? undefined : (r.prometheusCpuUs / (r.wallS * 1e6)) * 100);
  return (
    `trial ${String(t.trial).padStart(2)}  ${t.order[0] === 'observed' ? 'O→U' : 'U→O'}  ` +
    `observed p50/p99 ${run(t.observed)} µs  unobserved ${run(t.unobserved)} µs  Δp50 ${t.observed.p50Us - t.unobserved.p50Us} µs  ` +
    `prometheus CPU ${f2(promPct(t.observed))}% / paused ${f2(promPct(t.unobserved))}%  ` +
    `load ${t.observed.loadAvg1m.toFixed(2)}/${t.unobserved.loadAvg1m.toFixed(2)}`
  );
}

/** The figures and the one verdict line. */
export function formatSummary(s: CostSummary, trials: number): string[] {
  const diff = (d: CostSummary['p50']) =>
    `${d.deltaUs} µs, 95% CI [${d.ci95Us[0]}, ${d.ci95Us[1]}], exact signed-rank p = ${d.pValue.toPrecision(3)}`;
  const cpuMet = s.prometheusCpuPct !== undefined && s.prometheusCpuPct < SCRAPE_CPU_TARGET_PCT;
  return [
    `paired trials: ${s.n} of ${trials} (both runs valid)`,
    `p50 observed − unobserved: ${diff(s.p50)}`,
    `p99 observed − unobserved: ${diff(s.p99)}`,
    `prometheus CPU (1 s scrape): ${f2(s.prometheusCpuPct)}% of one core while scraping, ${f2(s.prometheusPausedCpuPct)}% while paused`,
    `sidecar CPU per response observed − unobserved (being scraped): ${diff(s.sidecarCpu)} (${s.sidecarCpu.n} trials)`,
    `runner CPU (load generator + live series, reference): ${f2(s.runnerCpuPct.observed)}% observed arm, ${f2(s.runnerCpuPct.unobserved)}% unobserved arm`,
    `load average (1 min) at run starts: ${s.loadAvg1m[0].toFixed(2)}–${s.loadAvg1m[1].toFixed(2)}`,
    `verdict: observing ${s.p50.significant ? 'DOES' : 'does not'} significantly change light p50 (${s.p50.deltaUs} µs, ` +
      `CI [${s.p50.ci95Us[0]}, ${s.p50.ci95Us[1]}] ${ciExcludesZero(s.p50.ci95Us) ? 'excludes' : 'includes'} 0, ` +
      `p = ${s.p50.pValue.toPrecision(3)} ${s.p50.pValue < ALPHA ? '<' : '≥'} ${ALPHA}; the study's rule needs both); ` +
      `scrape CPU ${f2(s.prometheusCpuPct)}% of one core ${cpuMet ? 'meets' : 'misses'} the < ${SCRAPE_CPU_TARGET_PCT}% target`,
  ];
}
