import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AuthlabError } from '../../system/protocol/errors.js';
import { pinProcess } from '../study/pinning.js';
import { fromWire, type WireResult } from './result-wire.js';
import type { EngineResult, EngineRunOptions } from './types.js';

/** A run as sent to the load process: functions stay here; `live` says whether to stream responses back. */
export type WireRun = Omit<EngineRunOptions, 'signal' | 'onResponse'> & { live: boolean };

/** Orchestrator → load process. */
export type ToLoad = { kind: 'run'; id: number; runs: WireRun[] } | { kind: 'stop'; id: number };

/** Load process → orchestrator. `samples`: flat [latencyUs, status, latencyUs, status, …] of one run. */
export type FromLoad =
  | { kind: 'responses'; id: number; index: number; samples: (number | string)[] }
  | { kind: 'done'; id: number; results: WireResult[] }
  | { kind: 'failed'; id: number; aborted: boolean; message: string };

interface Pending {
  runs: readonly EngineRunOptions[];
  resolve(results: EngineResult[]): void;
  reject(error: unknown): void;
}

/** CPUs the load process is pinned to (runner/cli/study.ts sets them from the pin plan), or null: it inherits ours. */
let loadCpus: readonly number[] | null = null;

/** Pins the load process (started now or later) to `cpus`; null leaves it on this process's CPUs. */
export function setLoadProcessCpus(cpus: readonly number[] | null): void {
  loadCpus = cpus;
  if (shared?.pid !== undefined) pin(shared.pid);
}

function pin(pid: number): void {
  if (loadCpus && loadCpus.length > 0) pinProcess(pid, loadCpus);
}

let shared: LoadProcess | undefined;

/**
 * The one load process of this orchestrator, started on first use: the autocannon engine's runs
 * execute there, so the load generator has an event loop (and, when pinned, CPUs) of its own instead
 * of sharing the orchestrator's timers, progress rendering, live series and HTTP servers.
 */
export function loadProcess(): LoadProcess {
  if (!shared || shared.exited) shared = new LoadProcess();
  return shared;
}

/**
 * A child Node process (`load-process-main.ts`) that runs autocannon and returns each run's
 * histograms (compressed HDR) and counts over IPC. It is unreferenced while idle, so it never keeps
 * the orchestrator alive, and it exits when the orchestrator goes away (its IPC channel closes).
 */
export class LoadProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  exited = false;

  constructor() {
    const entry = fileURLToPath(new URL('./load-process-main.ts', import.meta.url));
    this.child = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    if (this.child.pid !== undefined) pin(this.child.pid);
    this.child.on('message', (m: FromLoad) => this.onMessage(m));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const error = new AuthlabError(
        'ERR_LOAD_PROCESS',
        `the load process exited (${signal ?? `code ${code}`}) during a run; see its output above`,
      );
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
    this.idle();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs `runs` at the same time in the load process, one result per run, in order. */
  runMany(runs: readonly EngineRunOptions[]): Promise<EngineResult[]> {
    if (this.exited) return Promise.reject(new AuthlabError('ERR_LOAD_PROCESS', 'the load process has exited'));
    const id = this.nextId++;
    const signal = runs[0]?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('run aborted'));
    const wire: WireRun[] = runs.map(({ signal: _s, onResponse, ...rest }) => ({ ...rest, live: onResponse !== undefined }));
    return new Promise<EngineResult[]>((resolve, reject) => {
      const onAbort = (): void => void this.send({ kind: 'stop', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        if (this.pending.size === 0) this.idle();
      };
      this.pending.set(id, {
        runs,
        resolve: (r) => {
          settle();
          resolve(r);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
      this.busy();
      this.send({ kind: 'run', id, runs: wire });
    });
  }

  /** Stops the process by its pid (tests and benches; a study leaves it to exit with the orchestrator). */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.ref(); // an idle child is unreferenced: without this, its exit might never be seen
    this.child.kill('SIGTERM');
    await gone;
  }

  private send(m: ToLoad): void {
    if (!this.exited && this.child.connected) this.child.send(m);
  }

  private onMessage(m: FromLoad): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.kind === 'responses') {
      const on = p.runs[m.index]?.onResponse;
      if (on) for (let i = 0; i + 1 < m.samples.length; i += 2) on(m.samples[i] as number, m.samples[i + 1] as number | string);
    } else if (m.kind === 'done') {
      p.resolve(m.results.map(fromWire));
    } else {
      const signal = p.runs[0]?.signal;
      p.reject(
        m.aborted && signal?.aborted ? (signal.reason ?? new Error('run aborted')) : new AuthlabError('ERR_LOAD_PROCESS', m.message),
      );
    }
  }

  // While runs are pending the child and its channel keep the orchestrator alive; idle, they do not.
  private busy(): void {
    this.child.ref();
    this.child.channel?.ref();
  }

  private idle(): void {
    this.child.unref();
    this.child.channel?.unref();
  }
}
