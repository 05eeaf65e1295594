import pg from 'pg';
import type { Registry } from 'prom-client';
import { readPgStats, registerPgStats, type PgStatsReading } from '../../system/runtime/pg-stats.js';

/** Which database belongs to which service (from endpoints.json). */
export interface ServiceDatabaseRef {
  service: string;
  database: string;
}

/**
 * PostgreSQL sizes and connections per service on the local platform, read by the runner as the
 * superuser (one connection per database, system/runtime/pg-stats.ts; its own connection is not
 * counted). On kube and kind the IdP and sidecar pods export the same series about their own
 * databases (`postgresStats` in their configs): those databases accept their own component alone.
 * A database that cannot be reached yields no samples rather than a failed scrape.
 */
export function registerPostgresStats(
  registry: Registry,
  superuserUrl: string,
  services: readonly ServiceDatabaseRef[],
): { close(): Promise<void> } {
  const pools = new Map<string, pg.Pool>();
  const poolFor = (database: string): pg.Pool => {
    let p = pools.get(database);
    if (!p) {
      const url = new URL(superuserUrl);
      url.pathname = `/${database}`;
      p = new pg.Pool({ connectionString: url.toString(), max: 1, idleTimeoutMillis: 30_000, application_name: 'authlab-live' });
      p.on('error', () => {}); // an idle client's error is seen again on the next query
      pools.set(database, p);
    }
    return p;
  };
  registerPgStats(registry, async () => {
    const out: PgStatsReading = { db: [], tables: [], conns: [] };
    const readings = await Promise.all(
      services.map(({ service, database }) => {
        const pool = poolFor(database);
        // Unreachable now (restarting, torn down): no samples for it this scrape.
        return readPgStats((sql) => pool.query(sql), service, 'skip').catch(() => null);
      }),
    );
    for (const r of readings) {
      if (!r) continue;
      out.db.push(...r.db);
      out.tables.push(...r.tables);
      out.conns.push(...r.conns);
    }
    return out;
  });
  return {
    async close() {
      await Promise.all([...pools.values()].map((p) => p.end().catch(() => {})));
      pools.clear();
    },
  };
}
