import { withAffinity } from '../../study/pinning.js';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

let setprivPath: string | null | undefined;

/** CPUs the system under test is pinned to (runner/study/pinning.ts), or null: children inherit ours. */
let systemCpus: readonly number[] | null = null;

/** Starts every later component child (and PostgreSQL) under `taskset -c <cpus>`; null stops doing so. */
export function setSystemCpus(cpus: readonly number[] | null): void {
  systemCpus = cpus;
}

/** util-linux `setpriv` on PATH (or in /usr/bin), found once; null where there is none. */
export function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform !== 'linux') return setprivPath;
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin']) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'setpriv'), constants.X_OK);
      setprivPath = join(dir, 'setpriv');
      break;
    } catch {
      // not here
    }
  }
  return setprivPath;
}

/**
 * `cmd args` wrapped so the kernel sends the process `signal` when this process dies, however it
 * dies (also SIGKILL, which no handler sees): `setpriv --pdeathsig <signal> -- cmd args` sets
 * PR_SET_PDEATHSIG and then execs `cmd` in the same pid, so stopping it by its pid works as before.
 * Without setpriv (not Linux, no util-linux) the command is returned unchanged and `guarded` is false.
 */
export function withParentDeathSignal(
  cmd: string,
  args: readonly string[],
  signal: 'TERM' | 'INT',
): { cmd: string; args: string[]; guarded: boolean } {
  const setpriv = findSetpriv();
  const inner = setpriv === null ? { cmd, args: [...args] } : { cmd: setpriv, args: ['--pdeathsig', signal, '--', cmd, ...args] };
  // taskset and setpriv both exec what follows, so the pid stays the component's.
  const pinned = withAffinity(inner.cmd, inner.args, systemCpus);
  return { ...pinned, guarded: setpriv !== null };
}
