import type { Registry } from 'prom-client';
import { RUNNER_METRICS } from '../protocol/metrics.js';
import { customMetric, type Sample } from './custom-metric.js';

/** How long a component's own reading is reused: a sidecar under measurement pays 3 queries per 5 s. */
export const PG_STATS_INTERVAL_MS = 5000;

/** Runs one SQL statement on a connection to the database being described. */
export type PgStatsQuery = <R extends Record<string, unknown>>(sql: string) => Promise<{ rows: R[] }>;

/** One reading of a database: its size, its user tables' sizes, its backends by state. */
export interface PgStatsReading {
  db: Sample[];
  tables: Sample[];
  conns: Sample[];
}

/**
 * Reads `authlab_pg_*` of one database from the database itself (no exporter binary):
 * `pg_database_size`, `pg_total_relation_size` of every user table, and `pg_stat_activity` by state.
 * The connection that runs these queries is counted as `ownConnection` says: `skip` when it is an
 * observer's own (the runner's scrape connection), `idle` when it belongs to the service's pool (a
 * sidecar or the IdP reading its own database: that connection is idle but for this query).
 * Throws when the database cannot be reached; callers turn that into no samples.
 */
export async function readPgStats(query: PgStatsQuery, service: string, ownConnection: 'skip' | 'idle'): Promise<PgStatsReading> {
  const size = await query<{ database: string; size: string }>(
    'SELECT current_database() AS database, pg_database_size(current_database())::text AS size',
  );
  const database = size.rows[0]?.database ?? '';
  const db = [{ labels: { service, database }, value: Number(size.rows[0]?.size ?? 0) }];
  const t = await query<{ name: string; size: string }>(
    `SELECT schemaname || '.' || relname AS name, pg_total_relation_size(relid)::text AS size FROM pg_stat_user_tables`,
  );
  const tables = t.rows.map((r) => ({ labels: { service, database, table: r.name }, value: Number(r.size) }));
  // A role that is not superuser sees other roles' backends with a null state: `unknown`.
  const c = await query<{ state: string; n: string }>(
    `SELECT coalesce(state, 'unknown') AS state, count(*)::text AS n FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1`,
  );
  const byState: Record<string, number> = { active: 0, idle: 0 };
  for (const r of c.rows) byState[r.state] = Number(r.n);
  if (ownConnection === 'idle') byState.idle! += 1;
  const conns = Object.entries(byState).map(([state, n]) => ({ labels: { service, database, state }, value: n }));
  return { db, tables, conns };
}

/**
 * Registers the three `authlab_pg_*` gauges on `registry`, filled by `read` at scrape time. One reading
 * serves the three gauges of a scrape, and is reused for `minIntervalMs` (sizes move slowly; a component
 * under measurement should not pay three queries per scrape). A failed reading yields no samples.
 */
export function registerPgStats(registry: Registry, read: () => Promise<PgStatsReading>, minIntervalMs = 200): void {
  const empty: PgStatsReading = { db: [], tables: [], conns: [] };
  let pending: Promise<PgStatsReading> | null = null;
  const once = () => {
    pending ??= read()
      .catch(() => empty)
      .finally(() => setTimeout(() => (pending = null), minIntervalMs).unref());
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
}
