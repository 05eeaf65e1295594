import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ClusterError } from './errors.js';

/** A daemon `up` started, identified by pid and its start time (so a reused pid is never signalled). */
export interface DaemonRecord {
  name: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat, clock ticks since boot. */
  startTicks: number;
  log: string;
}

/**
 * `<cluster>/state.json`: written before `up` changes anything and updated after every change, so a
 * `down` after a killed `up` knows exactly what to undo.
 */
export interface ClusterState {
  /** pid of the `authlab cluster up` that made it (alive only while it is starting). */
  ownerPid: number;
  startedAt: string;
  status: 'starting' | 'ready';
  kubeVersion: string;
  daemons: DaemonRecord[];
  /** Values of host sysctls before `up` (restored by `down`). */
  sysctls: Record<string, string>;
  /** True once `up` created the bridge (down deletes it only then). */
  bridgeCreated: boolean;
  /** Entries of /run/netns before `up` (down removes only the others). */
  netnsBefore: string[];
  /** `nft list tables` before `up` (down deletes the others once they are empty again). Absent in state files from before it was recorded. */
  nftTablesBefore?: string[];
  /** Which of host-cleanup's HOST_DIRS existed before `up` (down removes only the others). */
  hostDirsBefore: string[];
  /** Milliseconds from `up` start to node Ready (set when ready). */
  readyMs?: number;
}

export async function readClusterState(path: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ClusterState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClusterError('ERR_STALE_CLUSTER', `${path} is unreadable; run \`authlab cluster down\` to clean up what it describes`, {
      cause: err,
    });
  }
}

/** Creates the state file; refuses when one exists (a running or stale cluster). */
export async function createClusterState(path: string, state: ClusterState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  try {
    const fh = await open(path, 'wx', 0o600);
    await fh.writeFile(JSON.stringify(state, null, 2) + '\n');
    await fh.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ClusterError('ERR_STALE_CLUSTER', `a cluster state file exists at ${path}; run \`authlab cluster down\` first`);
    }
    throw err;
  }
}

/** Replaces the state file atomically (temp file + rename). */
export async function saveClusterState(path: string, state: ClusterState): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, path);
}
