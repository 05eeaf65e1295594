import pg from 'pg';
import type { Registry } from 'prom-client';
import { RUNNER_METRICS } from '../../system/protocol/metrics.js';
import { customMetric, type Sample } from './custom-metric.js';

/** Which database belongs to which service (from endpoints.json). */
export interface ServiceDatabaseRef {
  service: string;
  database: string;
}

/**
 * PostgreSQL sizes and connections per service, read from the database itself at scrape time (no exporter
 * binary): `pg_database_size`, `pg_total_relation_size` of every user table (one connection per database,
 * as the superuser), and `pg_stat_activity` by state. One query round per scrape, shared by the three
 * gauges; a database that cannot be reached yields no samples rather than a failed scrape.
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
  let pending: Promise<{ db: Sample[]; tables: Sample[]; conns: Sample[] }> | null = null;
  const read = async () => {
    const db: Sample[] = [];
    const tables: Sample[] = [];
    const conns: Sample[] = [];
    await Promise.all(
      services.map(async ({ service, database }) => {
        try {
          const pool = poolFor(database);
          const size = await pool.query<{ size: string }>('SELECT pg_database_size(current_database())::text AS size');
          db.push({ labels: { service, database }, value: Number(size.rows[0]?.size ?? 0) });
          const t = await pool.query<{ name: string; size: string }>(
            `SELECT schemaname || '.' || relname AS name, pg_total_relation_size(relid)::text AS size FROM pg_stat_user_tables`,
          );
          for (const r of t.rows) tables.push({ labels: { service, database, table: r.name }, value: Number(r.size) });
          // Our own scrape connection is left out: it is the observer, not the service.
          const c = await pool.query<{ state: string; n: string }>(
            `SELECT coalesce(state, 'unknown') AS state, count(*)::text AS n FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1`,
          );
          const byState: Record<string, number> = { active: 0, idle: 0 };
          for (const r of c.rows) byState[r.state] = Number(r.n);
          for (const [state, n] of Object.entries(byState)) conns.push({ labels: { service, database, state }, value: n });
        } catch {
          // Unreachable now (restarting, torn down): no samples this scrape.
        }
      }),
    );
    return { db, tables, conns };
  };
  // The three gauges are collected in one scrape: read once per scrape, not three times.
  const once = () => {
    pending ??= read().finally(() => setTimeout(() => (pending = null), 200));
    return pending;
  };
  customMetric(registry, {
    name: RUNNER_METRICS.pgDatabaseBytes,
    help: "Size of a service's database (pg_database_size), bytes",
    type: 'gauge',
    samples: async () => (await once()).db,
  });
  customMetric(registry, {
    name: RUNNER_METRICS.pgTableBytes,
    help: 'Size of a user table with its indexes and TOAST (pg_total_relation_size), bytes',
    type: 'gauge',
    samples: async () => (await once()).tables,
  });
  customMetric(registry, {
    name: RUNNER_METRICS.pgConnections,
    help: "Backends connected to a service's database (pg_stat_activity), by state",
    type: 'gauge',
    samples: async () => (await once()).conns,
  });
  return {
    async close() {
      await Promise.all([...pools.values()].map((p) => p.end().catch(() => {})));
      pools.clear();
    },
  };
}
