import { spawn, type ChildProcess } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { ListeningLine } from '../../../system/protocol/endpoints.js';
import { PlatformError } from './errors.js';

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
}

export interface SpawnOptions {
  /** Label used in messages and as the service name, e.g. `idp`, `p1-a`. */
  name: string;
  /** Absolute path of the component's `main.ts` (checked to exist; named in errors). */
  entry: string;
  /** Node arguments that run it, before `--config` (default `--import tsx <entry>`). */
  nodeArgs?: string[];
  /** JSON config, written to `configPath` (mode 0600: it holds passwords and tokens). */
  config: unknown;
  configPath: string;
  /** How long to wait for the listening line, ms (default 20 000). */
  timeoutMs?: number;
  /** Rejects the wait early (Ctrl-C during start-up). */
  signal?: AbortSignal;
}

const TAIL_LINES = 40;

/**
 * Resolves once `child` has exited, sending `signal` (default SIGTERM) and SIGKILL after `graceMs`
 * (default 5 000 ms). Signals go to the child's own pid only.
 */
export function stopProcess(child: ChildProcess, opts: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<'exited' | 'killed'> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve('exited');
  return new Promise((resolve) => {
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, opts.graceMs ?? 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(killed ? 'killed' : 'exited');
    });
    child.kill(opts.signal ?? 'SIGTERM');
  });
}

/**
 * Starts `node --import tsx <entry> --config <configPath>` and resolves once the child prints its
 * listening line. Rejects with `ERR_PORT_BUSY` when the child reports EADDRINUSE, `ERR_COMPONENT_EXITED`
 * when it exits first, `ERR_START_TIMEOUT` after `timeoutMs`; the child is stopped in every such case.
 */
export async function spawnComponent(opts: SpawnOptions): Promise<Component> {
  try {
    await access(opts.entry);
  } catch (err) {
    throw new PlatformError(
      'ERR_COMPONENT_MISSING',
      `${opts.name} cannot start: ${opts.entry} does not exist; check out a complete authlab tree (git status) and run \`npm ci\``,
      { cause: err },
    );
  }
  await writeFile(opts.configPath, JSON.stringify(opts.config, null, 2), { mode: 0o600 });
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? ['--import', 'tsx', opts.entry]), '--config', opts.configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production' },
  });
  const lines: string[] = [];
  const remember = (line: string) => {
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
  };
  const tail = () => lines.join('\n');
  let exited = false;
  child.once('exit', () => (exited = true));

  const url = await new Promise<string>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      void stopProcess(child, { graceMs: 2000 }).then(() => reject(err), () => reject(err));
    };
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const timer = setTimeout(
      () => fail(new PlatformError('ERR_START_TIMEOUT', `${opts.name} did not report listening within ${timeoutMs} ms; its last output:\n${tail()}`)),
      timeoutMs,
    );
    const onAbort = () => fail(new PlatformError('ERR_ABORTED', `start-up of ${opts.name} was interrupted`));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    child.once('error', (err) => fail(new PlatformError('ERR_COMPONENT_EXITED', `${opts.name} could not be spawned: ${err.message}`, { cause: err })));
    child.once('close', (code, sig) => {
      const out = tail();
      const busy = /EADDRINUSE|address already in use/i.test(out);
      fail(
        busy
          ? new PlatformError('ERR_PORT_BUSY', `${opts.name} could not listen: its port is already in use; free it or pick another --base-port`)
          : new PlatformError('ERR_COMPONENT_EXITED', `${opts.name} exited during start-up (${sig ?? `code ${code}`}); its last output:\n${out}`),
      );
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line);
      if (settled || !line.startsWith('{')) return;
      try {
        const msg = JSON.parse(line) as Partial<ListeningLine>;
        if (msg.event === 'listening' && typeof msg.url === 'string') {
          settled = true;
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(msg.url.replace(/\/$/, ''));
        }
      } catch {
        // An ordinary log line that happens to start with '{' but is not JSON.
      }
    });
    createInterface({ input: child.stderr! }).on('line', remember);
  });

  return {
    name: opts.name,
    pid: child.pid ?? -1,
    url,
    tail,
    get exited() {
      return exited;
    },
    stop: (graceMs = 5000) => stopProcess(child, { graceMs }),
  };
}
