import type { PlatformName } from '../../results/schema.js';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../../system/protocol/errors.js';
import type { ComponentStatus, PlatformEvent } from '../platforms/local/supervisor.js';

/** `runs/` (or `$AUTHLAB_RUNS_DIR`): study output and the state of `authlab up`. */
export function runsDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AUTHLAB_RUNS_DIR ?? join(process.cwd(), 'runs'));
}

/** Paths of `authlab up`'s files under `runs/up/`. */
export function upPaths(runs: string) {
  const dir = join(runs, 'up');
  return { dir, state: join(dir, 'state.json'), endpoints: join(dir, 'endpoints.json') };
}

/** `runs/up/state.json`: who holds the platform, so `down` can signal it and a second `up` is refused. */
export interface UpState {
  pid: number;
  startedAt: string;
  /** `starting` until every component is ready. */
  status: 'starting' | 'ready';
  pairs: number;
  /** Where it runs (absent: local, as written before the kube platform). */
  platform?: PlatformName;
  /**
   * The platform's work directory (configs, tokens, PostgreSQL data), recorded before anything starts
   * so that a `down` or `up` after this `up` died can stop what runs from it and remove it.
   */
  workDir?: string;
  /** Per supervised process (postgres, identity, idp, each sidecar), kept current by `up`. */
  components?: Record<string, ComponentStatus>;
  /** The latest supervision events (a component exited, was restarted), oldest first. */
  events?: PlatformEvent[];
}

/** True when a process with `pid` exists (EPERM: it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when `pid` is alive and, where /proc exists, is an authlab process: a state file left by a
 * killed `up` must not make us refuse to start, or make `down` signal an unrelated process that
 * reused the pid.
 */
export async function isAuthlabProcess(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  try {
    // Arguments only: the executable's own path may name authlab (a Node installed under
    // ~/.cache/authlab), which would make every node process look like ours.
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').slice(1);
    return args.some((a) => a.includes('authlab'));
  } catch (err) {
    // No /proc (macOS): trust the pid. Vanished meanwhile: not alive.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync('/proc/self');
  }
}

export async function readState(path: string): Promise<UpState | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as UpState;
  } catch {
    return undefined;
  }
}

/**
 * Creates the state file exclusively (O_EXCL, so two `up`s racing cannot both win). A file left by a
 * process that is gone is first handed to `recoverStale` (stop its leftovers, remove its work dir),
 * then replaced; one held by a live process is a {@link UsageError}.
 */
export async function acquireUpState(runs: string, state: UpState, recoverStale: (stale: UpState) => Promise<void>): Promise<void> {
  const paths = upPaths(runs);
  await mkdir(paths.dir, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(paths.state, 'wx', 0o644);
      try {
        await fh.writeFile(JSON.stringify(state, null, 2) + '\n');
      } finally {
        await fh.close();
      }
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = await readState(paths.state);
      if (held && held.pid !== state.pid && (await isAuthlabProcess(held.pid))) {
        throw new UsageError(
          `authlab up is already running (pid ${held.pid}, endpoints in ${paths.endpoints}); use it, or stop it with \`authlab down\` before starting another`,
        );
      }
      // Left behind by a process that no longer exists (killed with SIGKILL, machine reboot).
      if (held) await recoverStale(held);
      await rm(paths.state, { force: true });
      await rm(paths.endpoints, { force: true });
    }
  }
  throw new UsageError(`could not take ${paths.state}; another authlab up is starting right now, try again in a few seconds`);
}

const pendingUpdates = new Map<string, Promise<void>>();
let updateSeq = 0;

/**
 * Rewrites the state file atomically (temp file + rename), one update at a time and in call order:
 * `authlab status` and `down` read it at any moment and must never see it half-written or an older
 * state land after a newer one.
 */
export async function updateUpState(runs: string, state: UpState): Promise<void> {
  const file = upPaths(runs).state;
  const text = JSON.stringify(state, null, 2) + '\n';
  const write = async () => {
    const tmp = `${file}.${process.pid}.${++updateSeq}.tmp`;
    try {
      await writeFile(tmp, text);
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  };
  const next = (pendingUpdates.get(file) ?? Promise.resolve()).then(write, write);
  pendingUpdates.set(file, next);
  try {
    await next;
  } finally {
    if (pendingUpdates.get(file) === next) pendingUpdates.delete(file);
  }
}

/** Removes the state and endpoints files, but only if the state file still names `pid`. */
export async function releaseUpState(runs: string, pid: number): Promise<void> {
  const paths = upPaths(runs);
  const held = await readState(paths.state);
  if (held && held.pid !== pid) return;
  await rm(paths.endpoints, { force: true });
  await rm(paths.state, { force: true });
}
