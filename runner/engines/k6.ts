import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RunRecorder } from './histogram.js';
import { cycleLength, mixCycle } from './mix.js';
import type { Engine, EngineResult, EngineRunOptions } from './types.js';
import { DERIVED_STAGE, isCpuStage } from '../../results/schema.js';

/** Folder of the k6 scripts (scenarios/k6). */
export const K6_SCRIPTS_DIR = fileURLToPath(new URL('../../scenarios/k6/', import.meta.url));

/**
 * Where k6 is looked for — the one lookup the CLI's check and the engine share: `$K6_BIN`, then
 * PATH, then `go install`'s default folder (`$GOPATH/bin`, else `$HOME/go/bin`).
 */
export async function findK6(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const candidates = [
    env.K6_BIN,
    ...(env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'k6')),
    ...(env.GOPATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'bin', 'k6')),
    env.HOME ? join(env.HOME, 'go', 'bin', 'k6') : undefined,
  ];
  for (const c of candidates) {
    if (!c) continue;
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // not here; try the next candidate
    }
  }
  return null;
}

export interface K6EngineOptions {
  /** Path to the k6 binary; default: found by `findK6()`. */
  binary?: string;
  /** Open-loop VU ceiling when the run does not give one; exhausting it drops iterations. */
  maxVus?: number;
}

/**
 * k6 as a child process: open loop (`constant-arrival-rate`; `constant-vus` when no rate is given,
 * `shared-iterations` for a fixed request count), warm-up as a separate k6 scenario
 * whose samples are discarded. Per-request samples come back through k6's CSV output (µs
 * timestamps, ms values with ns decimals) and are folded into the same µs HDR histogram as
 * autocannon's. A run in which k6 dropped iterations is marked invalid: the arrival rate was not
 * delivered, so its latencies are not those of the planned load.
 */
export function buildK6Engine(options: K6EngineOptions = {}): Engine {
  let binary: string | null | undefined = options.binary;
  const locate = async (): Promise<string | null> => {
    if (binary === undefined) binary = await findK6();
    return binary;
  };
  const runMany = async (runs: readonly EngineRunOptions[]): Promise<EngineResult[]> => {
    const bin = await locate();
    if (!bin) throw new Error('k6 binary not found: put k6 on PATH or set K6_BIN, or use --engine autocannon');
    return runK6(bin, runs, options.maxVus ?? 50);
  };
  return {
    name: 'k6',
    model: 'open',
    async unavailable() {
      return (await locate())
        ? null
        : 'k6 binary not found: install k6 (https://grafana.com/docs/k6/latest/set-up/install-k6/) and put it on PATH, or set K6_BIN=/path/to/k6';
    },
    async run(o) {
      const [result] = await runMany([o]);
      return result as EngineResult;
    },
    runMany,
  };
}

/** How one target was driven (open/closed/count, windows), as the fold needs it. */
export interface Plan {
  counted: boolean;
  model: 'open' | 'closed';
  warmupS: number;
  durationS: number;
  onResponse?: (latencyUs: number, status: number | string) => void;
}

/** One target of AUTHLAB_TARGETS (scenarios/k6/lib.ts). */
export interface K6Target {
  url: string;
  bodies: string[];
  model: 'open' | 'closed' | 'count';
  rate: number;
  vus: number;
  maxVus: number;
  durationS: number;
  warmupS: number;
  count: number;
}

/** The k6 targets (AUTHLAB_TARGETS) of `runs` and the plans their samples are folded by; shared by host and in-cluster k6. */
export function k6Targets(runs: readonly EngineRunOptions[], defaultMaxVus: number): { plans: Plan[]; targets: K6Target[] } {
  const plans: Plan[] = [];
  const targets = runs.map((o): K6Target => {
    const counted = o.requestCount !== undefined;
    // Open loop at rateRps; without a rate (the floor's max-rps probe) a closed loop of constant VUs.
    const model = counted ? 'count' : o.rateRps ? 'open' : 'closed';
    // k6 refuses scenarios shorter than 1 s; a shorter warm-up or measured part is lengthened, never dropped.
    const warmupS = counted || o.warmupS <= 0 ? 0 : Math.max(1, o.warmupS);
    const durationS = Math.max(1, o.durationS);
    plans.push({
      counted,
      model: model === 'open' ? 'open' : 'closed',
      warmupS,
      durationS,
      ...(o.onResponse ? { onResponse: o.onResponse } : {}),
    });
    return {
      url: o.url,
      bodies: mixCycle(o.requests, cycleLength(o.requests), 1),
      model,
      rate: o.rateRps ?? 0,
      vus: o.connections,
      maxVus: Math.max(o.connections, o.maxVus ?? defaultMaxVus),
      durationS,
      warmupS,
      count: o.requestCount ?? 0,
    };
  });
  return { plans, targets };
}

/**
 * Drives every target of `runs` at once from ONE k6 process (target i as k6 scenarios `warmup_i`
 * and `measure_i`): on a 2-core host, one k6 per pair would spend the cores the system under test
 * needs. Returns one result per run, in order.
 */
async function runK6(bin: string, runs: readonly EngineRunOptions[], defaultMaxVus: number): Promise<EngineResult[]> {
  const first = runs[0];
  if (!first) return [];
  const { plans, targets } = k6Targets(runs, defaultMaxVus);
  const dir = await mkdtemp(join(tmpdir(), 'authlab-k6-'));
  const csv = join(dir, 'samples.csv');
  try {
    const env = { ...process.env, AUTHLAB_TARGETS: JSON.stringify(targets), K6_CSV_TIME_FORMAT: 'unix_micro', K6_NO_USAGE_REPORT: 'true' };
    const script = resolve(K6_SCRIPTS_DIR, first.k6Script ?? 'generic.ts');
    await spawnK6(bin, ['run', '--quiet', '--summary-mode=disabled', '--out', `csv=${csv}`, script], env, first.signal);
    return await foldCsv([csv], plans);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function spawnK6(bin: string, args: string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const onAbort = (): void => {
      child.kill('SIGINT');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => reject(new Error(`could not start k6 (${bin}): ${err.message}`, { cause: err })));
    child.on('exit', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(signal.reason ?? new Error('run aborted'));
      // 99 = thresholds crossed; we set none, so anything but 0 is a failure.
      if (code === 0) return resolvePromise();
      reject(new Error(`k6 exited with ${code ?? sig}; its last output:\n${stderr.trim()}`));
    });
  });
}

const DERIVED = new Set<string>(Object.values(DERIVED_STAGE));

/** Per-target samples of the `measure_i` scenarios. */
interface Samples {
  requests: { endUs: number; ms: number; status: number | string }[];
  stages: Record<string, number[]>;
  dropped: number;
  firstUs: number;
  warmupResponses: number;
}

/**
 * Reads k6 CSV outputs — one per k6 process: several when runners split a test by execution segment —
 * and folds each target's `measure_i` samples, from all of them, into its own RunRecorder. Each source
 * has its own header (lines before it are skipped); k6 log lines (`time=…`) among the samples are skipped.
 */
export async function foldCsv(paths: readonly string[], plans: readonly Plan[]): Promise<EngineResult[]> {
  const per: Samples[] = plans.map(() => ({ requests: [], stages: {}, dropped: 0, firstUs: Number.POSITIVE_INFINITY, warmupResponses: 0 }));
  for (const path of paths) await foldOne(path, per);
  return plans.map((plan, i) => toResult(plan, per[i] as Samples));
}

async function foldOne(path: string, per: Samples[]): Promise<void> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let col = { name: 0, ts: 1, value: 2, scenario: 3, status: 4 };
  let header = false;
  for await (const line of lines) {
    const f = line.split(',');
    if (!header) {
      if (f[0] !== 'metric_name') continue; // anything before the header (a banner) is not data
      const idx = (n: string): number => f.indexOf(n);
      col = {
        name: idx('metric_name'),
        ts: idx('timestamp'),
        value: idx('metric_value'),
        scenario: idx('scenario'),
        status: idx('status'),
      };
      header = true;
      continue;
    }
    if (line.startsWith('time=')) continue; // a k6 log line interleaved in a pod's stream
    const scenario = f[col.scenario] ?? '';
    if (scenario.startsWith('warmup_') && f[col.name] === 'http_req_duration') {
      const w = per[Number(scenario.slice(7))];
      if (w) w.warmupResponses++;
      continue;
    }
    if (!scenario.startsWith('measure_')) continue;
    const s = per[Number(scenario.slice(8))];
    if (!s) continue;
    const name = f[col.name] ?? '';
    if (name === 'http_req_duration') {
      const endUs = Number(f[col.ts]);
      const ms = Number(f[col.value]);
      const code = Number(f[col.status]);
      s.requests.push({ endUs, ms, status: code > 0 ? code : 'connection' });
      s.firstUs = Math.min(s.firstUs, endUs - ms * 1000);
    } else if (name === 'dropped_iterations') {
      s.dropped += Number(f[col.value]);
    } else if (name.startsWith('authlab_st_')) {
      (s.stages[name.slice(11).replace(/__/g, '-')] ??= []).push(Number(f[col.value]));
    }
  }
}

function toResult(plan: Plan, s: Samples): EngineResult {
  // The measure scenario starts after the warm-up, so its samples are all measured: offset 0.
  const recorder = new RunRecorder(0, Number.POSITIVE_INFINITY, plan.onResponse);
  for (const r of s.requests) recorder.record(Math.max(0, (r.endUs - r.ms * 1000 - s.firstUs) / 1000), r.ms * 1000, r.status);
  for (const [stage, values] of Object.entries(s.stages)) {
    // Derived figures (DERIVED_STAGE) may be 0 (auth off), CPU entries too; measured stages keep the 1 µs floor.
    const floorUs = DERIVED.has(stage) || isCpuStage(stage) ? 0 : 1;
    for (const ms of values) recorder.recordStage(stage, ms * 1000, floorUs);
  }
  // measuredS/warmupS report the windows k6 really ran, so the run record states them.
  return recorder.result({
    model: plan.model,
    plannedS: plan.counted ? null : plan.durationS,
    warmupS: plan.warmupS,
    droppedIterations: s.dropped,
    uncountedResponses: s.warmupResponses,
    invalidReason:
      s.dropped > 0 ? `k6 dropped ${s.dropped} iterations: the target rate was not delivered (raise maxVus or lower the rate)` : null,
  });
}
