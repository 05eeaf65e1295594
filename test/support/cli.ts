import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Test helpers: run `node bin/authlab.js …` as a user would. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const AUTHLAB_BIN = join(ROOT, 'bin', 'authlab.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `authlab <args>` with `env` merged over the current environment. */
export function startAuthlab(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [AUTHLAB_BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** An `authlab up` started by `startUp`. */
export interface StartedUp {
  up: ChildProcess;
  /** Its stderr so far, whole and by line. */
  stderr(): string;
  lines: string[];
  exit: Promise<number | null>;
  /** The `authlab up: ready …` line; rejects with its stderr if it exits before printing it. */
  ready: Promise<string>;
}

/**
 * Starts `authlab <args>` (an `up`) as a user would and watches for its ready line. Returns at once, so the
 * caller can register the child for clean-up before awaiting `ready`.
 */
export function startUp(args: string[], env: NodeJS.ProcessEnv = {}): StartedUp {
  const up = startAuthlab(args, env);
  let stderr = '';
  const lines: string[] = [];
  up.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: up.stderr! }).on('line', (l) => lines.push(l));
  const exit = new Promise<number | null>((res) => up.on('exit', (code) => res(code)));
  const ready = new Promise<string>((res, rej) => {
    createInterface({ input: up.stdout! }).on('line', (line) => line.startsWith('authlab up: ready') && res(line));
    up.on('exit', (code) => rej(new Error(`authlab ${args.join(' ')} exited with ${code} before ready:\n${stderr}`)));
  });
  // A caller that never awaits `ready` (it failed earlier) must not see an unhandled rejection.
  ready.catch(() => {});
  return { up, stderr: () => stderr, lines, exit, ready };
}

/** Runs `authlab <args>` to completion (killed after `timeoutMs`, default 60 000). */
export function runAuthlab(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  const child = startAuthlab(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((res) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    }),
  );
}

/** Pids of every live descendant of `pid` (Linux /proc), so tests can prove teardown left nothing. */
export async function descendantPids(pid: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const parent = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // Field 4 is the ppid; the command name (field 2) may hold spaces, so split after its ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parent.set(Number(name), Number(fields[1]));
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) if (pp === p) (out.push(child), walk(child));
  };
  walk(pid);
  return out;
}

/** Subset of `pids` still alive (zombies count as gone). */
export async function alivePids(pids: readonly number[]): Promise<number[]> {
  const { readFile } = await import('node:fs/promises');
  const alive: number[] = [];
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') alive.push(pid);
    } catch {
      // gone
    }
  }
  return alive;
}
