import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from './errors.js';
import { CACHE_DIR } from './paths.js';

/** Kept inside the template's data directory (PostgreSQL ignores unknown files there). */
const PASSWORD_FILE = 'authlab-template.password';

export interface PgUser {
  uid: number;
  gid: number;
}

function run(cmd: string, args: string[], user: PgUser | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(user ?? {}), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new PlatformError('ERR_POSTGRES', `${cmd} exited with code ${code}: ${stderr.trim().slice(-500)}`)),
    );
  });
}

/** Runs initdb into `dataDir` (created, owned by `user`) with superuser `postgres` / `password`. */
export async function initdb(initdbBin: string, dataDir: string, password: string, user: PgUser | undefined): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pwFile = `${dataDir}.pwfile`;
  await writeFile(pwFile, password + '\n', { mode: 0o600 });
  try {
    if (user) {
      await chown(dataDir, user.uid, user.gid);
      await chown(pwFile, user.uid, user.gid);
    }
    // --no-sync: these files are either copied or thrown away, so their durability buys nothing.
    await run(
      initdbBin,
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${pwFile}`,
        '--no-sync',
        '--encoding=UTF8',
        '--locale=C',
      ],
      user,
    );
  } finally {
    await rm(pwFile, { force: true });
  }
}

/**
 * A freshly initialised cluster in `dataDir`, as fast as possible: a copy of a template cluster that
 * is initdb'd once per PostgreSQL binary and kept in `node_modules/.cache/authlab` (initdb is about a
 * second of CPU, a copy a tenth of that). Returns the superuser password the cluster starts with; the
 * caller rotates it. Falls back to a plain initdb when the cache cannot be used (read-only tree, a
 * `postgres` user that cannot reach it).
 */
export async function freshCluster(
  bin: { initdb: string; postgres: string },
  dataDir: string,
  user: PgUser | undefined,
  cacheDir: string = CACHE_DIR,
): Promise<{ password: string; fromTemplate: boolean }> {
  try {
    const template = await ensureTemplate(bin, user, cacheDir);
    // `cp -a` keeps owner and modes (the postgres user, 0700), which PostgreSQL insists on.
    await new Promise<void>((res, rej) => execFile('cp', ['-a', template.dir, dataDir], (err) => (err ? rej(err) : res())));
    return { password: template.password, fromTemplate: true };
  } catch {
    await rm(dataDir, { recursive: true, force: true });
    const password = randomBytes(18).toString('base64url');
    await initdb(bin.initdb, dataDir, password, user);
    return { password, fromTemplate: false };
  }
}

async function ensureTemplate(
  bin: { initdb: string; postgres: string },
  user: PgUser | undefined,
  cacheDir: string,
): Promise<{ dir: string; password: string }> {
  const exe = await stat(bin.postgres);
  const dir = join(cacheDir, `pg-template-${exe.size}-${Math.round(exe.mtimeMs)}-${user?.uid ?? process.getuid?.() ?? 0}`);
  try {
    return { dir, password: (await readFile(join(dir, PASSWORD_FILE), 'utf8')).trim() };
  } catch {
    // not built yet
  }
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${dir}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  const password = randomBytes(18).toString('base64url');
  try {
    await initdb(bin.initdb, tmp, password, user);
    await writeFile(join(tmp, PASSWORD_FILE), password + '\n', { mode: 0o600 });
    // Rename is atomic: a concurrent builder either wins or finds ours complete.
    await rename(tmp, dir).catch(async () => rm(tmp, { recursive: true, force: true }));
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return { dir, password: (await readFile(join(dir, PASSWORD_FILE), 'utf8')).trim() };
}
