import { readdir, readFile, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, type UpState } from './state.js';

/** Work directories `up` makes (`<tmp>/authlab-local-XXXXXX`): the only kind recovery removes. */
const WORK_DIR = /^authlab-local-[A-Za-z0-9]+$/;

/** What {@link recoverStaleUp} found and did. */
export interface Recovery {
  /** Processes of the dead `up` that were still running, now stopped. */
  stopped: number;
  /** Those that needed SIGKILL. */
  killed: number;
  /** The work directory removed, if there was one. */
  removedDir: string | null;
}

/** Live processes whose command line names `dir` (components: `--config <dir>/…`; PostgreSQL: `-D <dir>/…`). */
async function processesUsing(dir: string): Promise<{ pid: number; postgres: boolean }[]> {
  const out: { pid: number; postgres: boolean }[] = [];
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return out; // no /proc: nothing to find this way
  }
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const args = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      if (args.some((a) => a.startsWith(`${dir}/`))) {
        out.push({ pid: Number(name), postgres: args.includes('-D') && basename(args[0] ?? '') === 'postgres' });
      }
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return out;
}

/**
 * Cleans up after an `authlab up` that died without tearing down (SIGKILL, OOM, a crash): stops
 * whatever still runs from its work directory (SIGTERM, PostgreSQL SIGINT, SIGKILL after
 * `graceMs`), then removes the directory. The state file is the caller's to remove afterwards, once
 * this has succeeded: a stale state is recovered, never just discarded.
 */
export async function recoverStaleUp(state: UpState, graceMs = 10_000): Promise<Recovery> {
  const dir = state.workDir;
  if (dir === undefined || !WORK_DIR.test(basename(dir))) return { stopped: 0, killed: 0, removedDir: null };
  const leftovers = await processesUsing(dir);
  for (const p of leftovers) {
    try {
      process.kill(p.pid, p.postgres ? 'SIGINT' : 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (leftovers.some((p) => isAlive(p.pid)) && Date.now() < deadline) await sleep(50);
  let killed = 0;
  for (const p of leftovers) {
    if (!isAlive(p.pid)) continue;
    killed++;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  await rm(dir, { recursive: true, force: true });
  return { stopped: leftovers.length, killed, removedDir: dir };
}

/** One line saying what recovery did, for `up` and `down`. */
export function describeRecovery(state: UpState, r: Recovery): string {
  const what = [
    r.stopped > 0
      ? `stopped ${r.stopped} leftover process(es)${r.killed ? ` (${r.killed} with SIGKILL)` : ''}`
      : 'found no leftover process',
    r.removedDir ? `removed its work dir ${r.removedDir}` : null,
    'removed its state file',
  ].filter((x): x is string => x !== null);
  return `authlab up (pid ${state.pid}) was no longer running; ${what.join(', ')}`;
}
