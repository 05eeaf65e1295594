import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, open, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ListeningLine } from '../../../system/protocol/endpoints.js';
import { PlatformError } from './errors.js';
import { withParentDeathSignal } from './lifeline.js';
import { spawnListeningCommand, stopProcess, type ListeningChild } from '../../../system/runtime/processes.js';

export { spawnListeningCommand, stopProcess, type ListeningChild };

/** A component (`system/<name>/main.ts`) running as a child process. */
export interface Component {
  readonly name: string;
  readonly pid: number;
  /** Base URL from its `{"event":"listening"}` line. */
  readonly url: string;
  /** Last lines of its stdout/stderr, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone, saying how. Idempotent. */
  stop(graceMs?: number): Promise<'exited' | 'killed'>;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** Its exit code once it has exited on its own (null while running or when ended by a signal). */
  readonly exitCode: number | null;
  /** Resolves when the process has exited, however: its code or the signal that ended it. */
  readonly closed: Promise<{ code: number | null; sig: NodeJS.Signals | null }>;
}

/** A component whose process may already be loading its code, waiting for its config. */
export interface PendingComponent {
  readonly name: string;
  /** Pid once spawned (undefined while spawning is deferred to `configure`). */
  readonly pid: number | undefined;
  /** Hands over the config and resolves once the component prints its listening line. */
  configure(config: unknown, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<Component>;
  stop(graceMs?: number): Promise<'exited' | 'killed'>;
}

export interface PrespawnOptions {
  /** Label used in messages and as the service name, e.g. `idp`, `p1-a`. */
  name: string;
  /** Absolute path of the component's `main.ts` (checked to exist; named in errors). */
  entry: string;
  /** Node arguments that run it, before `--config` (default `--import tsx <entry>`). */
  nodeArgs?: string[];
  /** Where the JSON config goes (mode 0600: it holds passwords and tokens). */
  configPath: string;
  /**
   * Start the process now with a FIFO as its config file (default true where `mkfifo` exists): it
   * loads its code while PostgreSQL and the IdP come up and blocks reading the config until
   * `configure` writes it. Code loading is most of a component's start-up, so this takes it off the
   * critical path without any change to the components.
   */
  early?: boolean;
}

export interface SpawnOptions extends PrespawnOptions {
  config: unknown;
  /** How long to wait for the listening line, ms (default 20 000). */
  timeoutMs?: number;
  /** Rejects the wait early (Ctrl-C during start-up). */
  signal?: AbortSignal;
}

const TAIL_LINES = 40;

function mkfifo(path: string): Promise<boolean> {
  return new Promise((resolve) => execFile('mkfifo', ['-m', '600', path], (err) => resolve(!err)));
}

/** A spawned child with its output captured line by line. */
class Running {
  readonly lines: string[] = [];
  readonly closed: Promise<{ code: number | null; sig: NodeJS.Signals | null }>;
  private listening: ((url: string) => void) | undefined;
  private firstUrl: string | undefined;

  constructor(readonly child: ChildProcess) {
    this.closed = new Promise((res) => child.once('close', (code, sig) => res({ code, sig })));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.remember(line);
      if (this.firstUrl || !line.startsWith('{')) return;
      try {
        const msg = JSON.parse(line) as Partial<ListeningLine>;
        if (msg.event === 'listening' && typeof msg.url === 'string') {
          this.firstUrl = msg.url.replace(/\/$/, '');
          this.listening?.(this.firstUrl);
        }
      } catch {
        // An ordinary log line that happens to start with '{' but is not JSON.
      }
    });
    createInterface({ input: child.stderr! }).on('line', (l) => this.remember(l));
  }
  private remember(line: string) {
    this.lines.push(line);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
  }
  tail() {
    return this.lines.join('\n');
  }
  get exited() {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }
  /** Resolves with the URL of the listening line (also if it was printed already). */
  onListening(cb: (url: string) => void) {
    if (this.firstUrl) cb(this.firstUrl);
    else this.listening = cb;
  }
}

/**
 * Prepares a component: checks its entry exists and, when `early`, starts it with a FIFO config so
 * it loads its code now. Nothing is waited on; `configure` does the waiting.
 */
export async function prespawnComponent(opts: PrespawnOptions): Promise<PendingComponent> {
  try {
    await access(opts.entry);
  } catch (err) {
    throw new PlatformError(
      'ERR_COMPONENT_MISSING',
      `${opts.name} cannot start: ${opts.entry} does not exist; check out a complete authlab tree (git status) and run \`npm ci\``,
      { cause: err },
    );
  }
  // SIGTERM from the kernel if the runner dies (kill -9 included): a component never outlives it.
  const command = withParentDeathSignal(
    process.execPath,
    [...(opts.nodeArgs ?? ['--import', 'tsx', opts.entry]), '--config', opts.configPath],
    'TERM',
  );
  const start = () =>
    new Running(
      spawn(command.cmd, command.args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production' },
      }),
    );
  const fifo = opts.early !== false && (await mkfifo(opts.configPath));
  let running: Running | undefined = fifo ? start() : undefined;
  let configured = false;

  const writeConfig = async (text: string, r: Running) => {
    // O_NONBLOCK: opening a FIFO with no reader yet fails (ENXIO) instead of blocking a libuv thread;
    // retry until the child has loaded its code and opened the file, or has died.
    for (;;) {
      if (r.exited) return;
      try {
        const fh = await open(opts.configPath, constants.O_WRONLY | constants.O_NONBLOCK);
        try {
          await fh.writeFile(text);
        } finally {
          await fh.close();
        }
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
        await sleep(5);
      }
    }
  };

  return {
    name: opts.name,
    get pid() {
      return running?.child.pid;
    },
    stop: (graceMs = 5000) => (running ? stopProcess(running.child, { graceMs }) : Promise.resolve('exited' as const)),
    async configure(config, { timeoutMs = 20_000, signal } = {}) {
      if (configured) throw new Error(`${opts.name} is already configured`);
      configured = true;
      const text = JSON.stringify(config, null, 2);
      if (!fifo) await writeFile(opts.configPath, text, { mode: 0o600 });
      const r = (running ??= start());
      const url = await new Promise<string>((resolve, reject) => {
        let settled = false;
        const fail = (err: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          void stopProcess(r.child, { graceMs: 2000 }).then(
            () => reject(err),
            () => reject(err),
          );
        };
        const timer = setTimeout(
          () =>
            fail(
              new PlatformError(
                'ERR_START_TIMEOUT',
                `${opts.name} did not report listening within ${timeoutMs} ms; its last output:\n${r.tail()}`,
              ),
            ),
          timeoutMs,
        );
        const onAbort = () => fail(new PlatformError('ERR_ABORTED', `start-up of ${opts.name} was interrupted`));
        signal?.addEventListener('abort', onAbort, { once: true });
        if (signal?.aborted) onAbort();
        r.child.once('error', (err) =>
          fail(new PlatformError('ERR_COMPONENT_EXITED', `${opts.name} could not be spawned: ${err.message}`, { cause: err })),
        );
        void r.closed.then(({ code, sig }) => {
          const out = r.tail();
          const busy = /EADDRINUSE|address already in use/i.test(out);
          fail(
            busy
              ? new PlatformError(
                  'ERR_PORT_BUSY',
                  `${opts.name} could not listen: its port is already in use; free it or pick another --base-port`,
                )
              : new PlatformError(
                  'ERR_COMPONENT_EXITED',
                  `${opts.name} exited during start-up (${sig ?? `code ${code}`}); its last output:\n${out}`,
                ),
          );
        });
        r.onListening((u) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(u);
        });
        if (fifo)
          writeConfig(text, r).catch((err: Error) =>
            fail(new PlatformError('ERR_COMPONENT_EXITED', `${opts.name}: could not hand over its config: ${err.message}`, { cause: err })),
          );
      });
      return {
        name: opts.name,
        pid: r.child.pid ?? -1,
        url,
        tail: () => r.tail(),
        get exited() {
          return r.exited;
        },
        get exitCode() {
          return r.child.exitCode;
        },
        closed: r.closed,
        stop: (graceMs = 5000) => stopProcess(r.child, { graceMs }),
      };
    },
  };
}

/**
 * Starts `node <nodeArgs> --config <configPath>` and resolves once the child prints its listening
 * line. Rejects with `ERR_PORT_BUSY` when the child reports EADDRINUSE, `ERR_COMPONENT_EXITED` when it
 * exits first, `ERR_START_TIMEOUT` after `timeoutMs`; the child is stopped in every such case.
 */
export async function spawnComponent(opts: SpawnOptions): Promise<Component> {
  const pending = await prespawnComponent({ ...opts, early: false });
  return pending.configure(opts.config, { timeoutMs: opts.timeoutMs, signal: opts.signal });
}

/**
 * Starts `node [nodeArgs] --import tsx <entry>` with `env` added to this process's, and resolves with its
 * URL once it prints its listening line (system/runtime/announce.ts); a server that exits first rejects,
 * and is stopped. For the benches' reference servers, which take no config file.
 */
export function spawnListening(entry: string, env: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<ListeningChild> {
  return spawnListeningCommand(process.execPath, [...nodeArgs, '--import', 'tsx', entry], env);
}
