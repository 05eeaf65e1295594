import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PlatformError } from './errors.js';
import type { PgUser } from './pg-template.js';

/** Marks a staged copy as complete (written last). */
const COMPLETE = '.authlab-staged';

function exec(cmd: string, args: string[], user?: PgUser): Promise<void> {
  return new Promise((resolve, reject) => execFile(cmd, args, { ...(user ?? {}) }, (err) => (err ? reject(err) : resolve())));
}

/**
 * True when `user` can reach `path` with `test <flag>` (`-x`: execute a file or enter a directory).
 * Asked of the system as that user rather than worked out from mode bits, so ACLs and every parent
 * directory count.
 */
export async function userCan(user: PgUser, flag: '-x' | '-r', path: string): Promise<boolean> {
  return exec('test', [flag, path], user).then(
    () => true,
    () => false,
  );
}

/** One sentence for a directory the `postgres` user cannot enter. */
export function unreachableError(what: string, path: string): PlatformError {
  return new PlatformError(
    'ERR_POSTGRES_ACCESS',
    `running as root, PostgreSQL runs as the \`postgres\` user, which cannot enter ${what} ${path}; ` +
      'make every parent directory traversable (`chmod o+x`), point TMPDIR at a directory it can enter, or run authlab as a non-root user',
  );
}

/** True when `dir` is ours to trust: a real directory (no symlink) owned by root, writable by nobody else. */
async function trusted(dir: string): Promise<boolean> {
  try {
    const s = await lstat(dir);
    return s.isDirectory() && s.uid === 0 && (s.mode & 0o022) === 0 && (await lstat(join(dir, COMPLETE))).isFile();
  } catch {
    return false;
  }
}

/**
 * The name of a staged copy of the binaries under `native` (`<package>/native`): their package's version
 * and the server executable's size, so every install of one version shares one copy. The executable's
 * mtime (the key before) changes with every `npm ci`, and each fresh checkout left another ~100 MB copy
 * in the temp directory. Without a readable version, the size and mtime.
 */
export async function stageName(native: string, postgres: string): Promise<string> {
  const exe = await stat(postgres);
  try {
    const { version } = JSON.parse(await readFile(join(dirname(native), 'package.json'), 'utf8')) as { version?: unknown };
    if (typeof version === 'string' && /^[0-9A-Za-z.+-]{1,64}$/.test(version)) return `authlab-postgres-${version}-${exe.size}`;
  } catch {
    // no package.json beside it: fall back below
  }
  return `authlab-postgres-${exe.size}-${Math.round(exe.mtimeMs)}`;
}

/**
 * The PostgreSQL binaries and template cache as the `postgres` user can use them. As root, PostgreSQL
 * runs as `postgres`; a checkout under /root or in a 0700 directory (containers, CI runners) keeps
 * that user out of `node_modules`, and initdb failed with EACCES. When `user` cannot execute the
 * installed binaries, their `native` tree (bin, lib, share: ~100 MB) is copied once per binary version
 * ({@link stageName}) to a root-owned, world-readable directory under the system temp directory, and the template
 * cluster is cached beside it. Without `user` (not root) everything stays where it is.
 */
export async function reachableForPostgres(
  bin: { initdb: string; postgres: string },
  user: PgUser | undefined,
  cacheDir: string,
): Promise<{ bin: { initdb: string; postgres: string }; cacheDir: string }> {
  if (!user) return { bin, cacheDir };
  if ((await userCan(user, '-x', bin.initdb)) && (await userCan(user, '-x', bin.postgres))) {
    await mkdir(cacheDir, { recursive: true });
    return { bin, cacheDir: (await userCan(user, '-x', cacheDir)) ? cacheDir : join(await stagingBase(user), 'authlab-pg-cache') };
  }
  const native = dirname(dirname(bin.initdb));
  const base = await stagingBase(user);
  let stage = join(base, await stageName(native, bin.postgres));
  if (!(await trusted(stage))) {
    // Someone else's directory under that name (a shared /tmp) is never used: a fresh one is made.
    if (
      await lstat(stage).then(
        (s) => s.uid !== 0 || s.isSymbolicLink(),
        () => false,
      )
    ) {
      stage = `${stage}-${randomBytes(6).toString('hex')}`;
    }
    const tmp = `${stage}.${process.pid}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    try {
      await mkdir(tmp, { mode: 0o755 });
      await exec('cp', ['-a', join(native, 'bin'), join(native, 'lib'), join(native, 'share'), tmp]);
      // Readable and traversable by everyone, writable by root only, whatever the checkout's umask was.
      await exec('chmod', ['-R', 'a+rX,go-w', tmp]);
      await exec('chown', ['-R', '0:0', tmp]);
      await writeFile(join(tmp, COMPLETE), `${native}\n`, { mode: 0o644 });
      // Atomic: a concurrent start either wins or finds a complete copy.
      await rename(tmp, stage).catch(async () => rm(tmp, { recursive: true, force: true }));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw new PlatformError('ERR_POSTGRES', `could not stage the PostgreSQL binaries in ${base}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!(await trusted(stage))) throw unreachableError('the staged PostgreSQL binaries in', stage);
  }
  return { bin: { initdb: join(stage, 'bin', 'initdb'), postgres: join(stage, 'bin', 'postgres') }, cacheDir: join(stage, 'cache') };
}

/** The system temp directory when the `postgres` user can enter it, else /tmp; else one sentence. */
async function stagingBase(user: PgUser): Promise<string> {
  for (const candidate of [tmpdir(), '/tmp']) {
    if (await userCan(user, '-x', candidate)) return candidate;
  }
  throw unreachableError('the temporary directory', tmpdir());
}
