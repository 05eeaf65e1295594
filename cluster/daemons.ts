import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterError } from './errors.js';
import type { DaemonRecord } from './state.js';

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined if gone. */
export async function processStartTicks(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** True while the recorded process runs (same pid and start time; a zombie counts as gone). */
export async function isRunning(rec: Pick<DaemonRecord, 'pid' | 'startTicks'>): Promise<boolean> {
  if ((await processStartTicks(rec.pid)) !== rec.startTicks) return false;
  try {
    const status = await readFile(`/proc/${rec.pid}/status`, 'utf8');
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

/**
 * Starts `bin args` in its own session (it outlives `cluster up`), output appended to
 * `<logDir>/<name>.log`, and resolves its record once /proc shows it.
 */
export async function startDaemon(
  name: string,
  bin: string,
  args: readonly string[],
  logDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DaemonRecord> {
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  try {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', (err) =>
        reject(new ClusterError('ERR_TOOL_MISSING', `could not start ${name} (${bin}): ${err.message}`, { cause: err })),
      );
    });
    child.unref();
    const startTicks = await processStartTicks(pid);
    if (startTicks === undefined) throw new ClusterError('ERR_COMPONENT_EXITED', `${name} exited at once; see ${log}`);
    return { name, pid, startTicks, log };
  } finally {
    closeSync(fd);
  }
}

/**
 * Stops a recorded process by its pid: SIGTERM, then SIGKILL after `graceMs` (default 5 000 ms).
 * Resolves true when it had been running.
 */
export async function stopProcess(rec: Pick<DaemonRecord, 'pid' | 'startTicks'>, graceMs = 5_000): Promise<boolean> {
  if (!(await isRunning(rec))) return false;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(rec.pid, s);
    } catch {
      // gone meanwhile
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isRunning(rec))) return true;
    await sleep(50);
  }
  signal('SIGKILL');
  for (let i = 0; i < 100 && (await isRunning(rec)); i++) await sleep(20);
  return true;
}

/** Last `lines` lines of a log file ('' when absent), for error messages. */
export async function logTail(path: string, lines = 5): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
