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

/** Folder of the k6 scripts (scenarios/k6). */
export const K6_SCRIPTS_DIR = fileURLToPath(new URL('../../scenarios/k6/', import.meta.url));

/** Where k6 is looked for: `$K6_BIN`, then PATH, then `go install`'s default folder. */
export async function findK6(): Promise<string | null> {
  const candidates = [
    process.env.K6_BIN,
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'k6')),
    '/root/go/bin/k6',
    join(process.env.HOME ?? '/root', 'go/bin/k6'),
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
  return {
    name: 'k6',
    model: 'open',
    async unavailable() {
      return (await locate())
        ? null
        : 'k6 binary not found: install k6 (https://grafana.com/docs/k6/latest/set-up/install-k6/) and put it on PATH, or set K6_BIN=/path/to/k6';
    },
    async run(o) {
      const bin = await locate();
      if (!bin) throw new Error('k6 binary not found: put k6 on PATH or set K6_BIN, or use --engine autocannon');
      return runK6(bin, o, options.maxVus ?? 50);
    },
  };
}

async function runK6(bin: string, o: EngineRunOptions, defaultMaxVus: number): Promise<EngineResult> {
  const counted = o.requestCount !== undefined;
  // Open loop at rateRps; without a rate (harness floor's max-rps probe) a closed loop of constant VUs.
  const model = counted ? 'count' : o.rateRps ? 'open' : 'closed';
  // k6 refuses scenarios shorter than 1 s; a shorter warm-up is lengthened, never dropped.
  const warmupS = counted || o.warmupS <= 0 ? 0 : Math.max(1, o.warmupS);
  const dir = await mkdtemp(join(tmpdir(), 'authlab-k6-'));
  const csv = join(dir, 'samples.csv');
  try {
    const bodies = mixCycle(o.requests, cycleLength(o.requests), 1);
    const env = {
      ...process.env,
      AUTHLAB_URL: o.url,
      AUTHLAB_BODIES: JSON.stringify(bodies),
      AUTHLAB_MODEL: model,
      AUTHLAB_RATE: String(o.rateRps ?? 0),
      AUTHLAB_VUS: String(o.connections),
      AUTHLAB_MAX_VUS: String(Math.max(o.connections, o.maxVus ?? defaultMaxVus)),
      // Likewise a measured part shorter than 1 s.
      AUTHLAB_DURATION_S: String(Math.max(1, o.durationS)),
      AUTHLAB_WARMUP_S: String(warmupS),
      AUTHLAB_COUNT: String(o.requestCount ?? 0),
      K6_CSV_TIME_FORMAT: 'unix_micro',
      K6_NO_USAGE_REPORT: 'true',
    };
    const script = resolve(K6_SCRIPTS_DIR, o.k6Script ?? 'generic.ts');
    await spawnK6(bin, ['run', '--quiet', '--summary-mode=disabled', '--out', `csv=${csv}`, script], env, o.signal);
    return await foldCsv(csv, o, counted, model === 'open' ? 'open' : 'closed', warmupS);
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

/** Reads k6's CSV and folds the `measure` scenario's samples into a RunRecorder. */
async function foldCsv(path: string, o: EngineRunOptions, counted: boolean, model: 'open' | 'closed', warmupS: number): Promise<EngineResult> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let col = { name: 0, ts: 1, value: 2, scenario: 3, status: 4 };
  let header = true;
  const requests: { endUs: number; ms: number; status: number | string }[] = [];
  const stages: Record<string, number[]> = {};
  let dropped = 0;
  let firstUs = Number.POSITIVE_INFINITY;
  for await (const line of lines) {
    const f = line.split(',');
    if (header) {
      const idx = (n: string): number => f.indexOf(n);
      col = { name: idx('metric_name'), ts: idx('timestamp'), value: idx('metric_value'), scenario: idx('scenario'), status: idx('status') };
      header = false;
      continue;
    }
    if (f[col.scenario] !== 'measure') continue;
    const name = f[col.name] ?? '';
    if (name === 'http_req_duration') {
      const endUs = Number(f[col.ts]);
      const ms = Number(f[col.value]);
      const code = Number(f[col.status]);
      const status: number | string = code > 0 ? code : 'connection';
      requests.push({ endUs, ms, status });
      firstUs = Math.min(firstUs, endUs - ms * 1000);
    } else if (name === 'dropped_iterations') {
      dropped += Number(f[col.value]);
    } else if (name.startsWith('authlab_st_')) {
      (stages[name.slice(11)] ??= []).push(Number(f[col.value]));
    }
  }
  // The measure scenario starts after the warm-up, so its samples are all measured: offset 0.
  const recorder = new RunRecorder(0, Number.POSITIVE_INFINITY);
  for (const r of requests) recorder.record(Math.max(0, (r.endUs - r.ms * 1000 - firstUs) / 1000), r.ms * 1000, r.status);
  for (const [stage, values] of Object.entries(stages)) {
    for (const ms of values) recorder.recordStage(stage, ms * 1000);
  }
  const measuredS = recorder.measuredS(counted ? null : Math.max(1, o.durationS));
  // (measuredS/warmupS report the windows k6 really ran, so the run record states them.)
  const invalidReason = dropped > 0 ? `k6 dropped ${dropped} iterations: the target rate was not delivered (raise maxVus or lower the rate)` : null;
  return {
    model,
    latency: recorder.latency,
    ok: recorder.ok,
    errors: recorder.errors,
    serverTiming: recorder.serverTiming,
    timeline: recorder.timeline(measuredS),
    throughputRps: recorder.ok / measuredS,
    measuredS,
    warmupS,
    droppedIterations: dropped,
    valid: dropped === 0,
    invalidReason,
  };
}
