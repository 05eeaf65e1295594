/**
 * Child processes that are not components: starting one that announces where it listens, and stopping one
 * by its own pid. Here, not in runner/, because the sidecar starts its Go data plane with them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

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

/** A server started by {@link spawnListeningCommand} (or runner/platforms/local/child.ts `spawnListening`). */
export interface ListeningChild {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  /** Its base URL, from its `{"event":"listening","url":...}` line. */
  readonly url: string;
  /** That whole line, parsed (a server may say more than its URL). */
  readonly line: Readonly<Record<string, unknown>>;
  /** SIGTERM, SIGKILL after 5 s; resolves once it is gone. */
  stop(): Promise<'exited' | 'killed'>;
}

/**
 * Starts `command args` with `env` added to this process's (and `AUTHLAB_PARENT_PID`, this process's
 * pid: a Go child that asks to die with its parent checks it is still this one's, serve.DieWithParent),
 * and resolves once its first stdout line,
 * `{"event":"listening","url":...}`, gives its URL; one that exits first rejects, and is stopped. For
 * reference servers that are not Node (bench:hop's Go ceiling).
 */
export async function spawnListeningCommand(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<ListeningChild> {
  const child = spawn(command, args, {
    env: { ...process.env, AUTHLAB_PARENT_PID: String(process.pid), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const line = await new Promise<Record<string, unknown> & { url: string }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${command} exited with ${code} before listening`)));
      createInterface({ input: child.stdout! }).once('line', (l) => {
        try {
          const parsed = JSON.parse(l) as Record<string, unknown>;
          if (typeof parsed.url !== 'string') throw new Error('no "url"');
          resolve(parsed as Record<string, unknown> & { url: string });
        } catch (err) {
          reject(new Error(`${command} printed ${JSON.stringify(l.slice(0, 200))}, not its listening line: ${(err as Error).message}`));
        }
      });
    });
    return { child, pid: child.pid, url: line.url, line, stop: () => stopProcess(child) };
  } catch (err) {
    if (child.pid !== undefined) await stopProcess(child); // no pid: it never started (ENOENT)
    throw err;
  }
}
