import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

let setprivPath: string | null | undefined;

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
  if (setpriv === null) return { cmd, args: [...args], guarded: false };
  return { cmd: setpriv, args: ['--pdeathsig', signal, '--', cmd, ...args], guarded: true };
}
