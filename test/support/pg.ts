import { startTempPostgres } from '../../runner/platforms/local/postgres.js';

export { freePort } from '../../runner/platforms/local/ports.js';

/** A throw-away PostgreSQL server for one test file. */
export interface TestPostgres {
  /** Superuser connection URL to the `postgres` database. */
  url: string;
  port: number;
  /** Superuser URL of another database on the same server. */
  urlFor(database: string): string;
  /** Creates database `name` owned by a role of the same name that alone may connect; returns its URL as that role. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts the local platform's PostgreSQL (a copy of the cached template cluster, so well under a
 * second) on a free port in a temp directory that `stop()` removes.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const server = await startTempPostgres();
  return {
    url: server.url,
    port: server.port,
    urlFor(database) {
      const u = new URL(server.url);
      u.pathname = `/${database}`;
      return u.toString();
    },
    createDatabase: async (name) => (await server.createDatabase(name)).url,
    stop: () => server.stop(),
  };
}
