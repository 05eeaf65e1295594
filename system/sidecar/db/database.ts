import pg from 'pg';
import { AuthlabError } from '../../protocol/errors.js';
import { readPgStats, type PgStatsReading } from '../../runtime/pg-stats.js';
import type { ParsedQuery } from '../query-catalogue.js';

/** The service's own database, reached with its own role through a pool of connections. */
export interface ServiceDatabase {
  /** Creates `items` (seeded when empty) and `log` if missing; the role owns its database. */
  ensureSchema(seedRows: number): Promise<void>;
  /**
   * Runs one named query; `caller` is recorded by `write`. Throws ERR_DB_UNAVAILABLE (503) when the
   * database cannot be reached, ERR_DB_QUERY (500) when it refuses a validated query (a bug).
   */
  run(q: ParsedQuery, caller: string | null): Promise<unknown[]>;
  ping(): Promise<boolean>;
  sizeBytes(): Promise<number>;
  /** `authlab_pg_*` of this database read over the service's own pool (`postgresStats` in the config). */
  pgStats(service: string): Promise<PgStatsReading>;
  /** Rows in `log` (tests and status). */
  countLog(): Promise<number>;
  close(): Promise<void>;
}

// Named statements are prepared once per connection by pg, then only bound and executed.
const LIGHT = 'SELECT id, data FROM items WHERE id = $1';
const HEAVY = 'SELECT count(*)::int AS count, avg(g)::float8 AS avg FROM generate_series(1, $1::int) AS g';
const WRITE = 'INSERT INTO log (caller, note) VALUES ($1, $2) RETURNING id';

/** At most one database error line per this many ms in the sidecar's log (an outage fails every request). */
const LOG_INTERVAL_MS = 10_000;

/** SQLSTATE classes that mean the server is unreachable or going away, not that it refused this query. */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58']);

/**
 * The client's error for a failed database call. PostgreSQL's own text stays in the sidecar's log:
 * it names tables, roles and values, and a client cannot act on it.
 */
function clientError(err: unknown): AuthlabError {
  if (err instanceof pg.DatabaseError && !UNAVAILABLE_CLASSES.has((err.code ?? '').slice(0, 2))) {
    return new AuthlabError(
      'ERR_DB_QUERY',
      `The service database refused the query (SQLSTATE ${err.code ?? 'unknown'}); the request passed validation, so this is a sidecar bug: see its log.`,
      { cause: err },
    );
  }
  return new AuthlabError(
    'ERR_DB_UNAVAILABLE',
    "The service database is unavailable; check that PostgreSQL is up (the sidecar's log has the cause).",
    {
      cause: err,
    },
  );
}

/**
 * Runs `config` on the pool as a `pg.Query` built from its text. pg 8.23 copies a config object on
 * every query (`normalizeQueryConfig` → `cloneQueryConfig`: `getOwnPropertyDescriptors` +
 * `defineProperties`), and a profile of the sidecar at saturation on `/query` light put 5.5 µs per
 * request there — the largest JavaScript function on the path, ~3 % of the request's CPU. Built from a
 * string, the query skips that copy; its name (the prepared statement) is set after. `pool.query`
 * dispatches a submittable exactly like a config (pg-pool: connect, `client.query(q, cb)`, release)
 * and returns the pool's promise of its result, which @types/pg types as the query itself.
 */
function submit<R extends pg.QueryResultRow>(pool: pg.Pool, config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
  const q = new pg.Query(config.text, config.values);
  if (config.name !== undefined) (q as { name?: string }).name = config.name;
  return pool.query(q) as unknown as Promise<pg.QueryResult<R>>;
}

/**
 * @param connectionString the service's own database URL and role
 * @param poolSize connections kept open (default 10)
 * @param log where a failed call's cause goes (at most one line per 10 s; default stderr)
 */
export function createServiceDatabase(
  connectionString: string,
  poolSize = 10,
  log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`),
): ServiceDatabase {
  const pool = new pg.Pool({ connectionString, max: poolSize, idleTimeoutMillis: 0, connectionTimeoutMillis: 5000 });
  // An idle client losing its connection (database restart) must not crash the sidecar.
  pool.on('error', () => {});
  let lastLogMs = -Infinity;
  let unlogged = 0;

  async function query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    try {
      return await submit<R>(pool, config);
    } catch (err) {
      const e = clientError(err);
      const nowMs = Date.now();
      if (nowMs - lastLogMs >= LOG_INTERVAL_MS) {
        const more = unlogged > 0 ? ` (${unlogged} more since the last line)` : '';
        log(`database ${config.name ?? 'query'} failed: ${(err as Error).message}${more}`);
        lastLogMs = nowMs;
        unlogged = 0;
      } else {
        unlogged++;
      }
      throw e;
    }
  }

  return {
    async ensureSchema(seedRows) {
      await query({ text: 'CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, data text NOT NULL)' });
      await query({
        text: 'CREATE TABLE IF NOT EXISTS log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), caller text, note text)',
      });
      const { rows } = await query<{ present: boolean }>({ text: 'SELECT EXISTS (SELECT 1 FROM items) AS present' });
      if (!rows[0]?.present) {
        await query({
          text: 'INSERT INTO items (id, data) SELECT g, md5(g::text) FROM generate_series(1, $1::int) AS g ON CONFLICT DO NOTHING',
          values: [seedRows],
        });
      }
    },
    async run(q, caller) {
      switch (q.query) {
        case 'light':
          return (await query({ name: 'light', text: LIGHT, values: [q.id] })).rows;
        case 'heavy':
        // Without a cache (none configured, or bypassed by the cache module on a miss) it is `heavy`.
        case 'heavy-cached':
          return (await query({ name: 'heavy', text: HEAVY, values: [q.n] })).rows;
        case 'write':
          return (await query({ name: 'write', text: WRITE, values: [caller, q.note] })).rows;
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async sizeBytes() {
      const { rows } = await query<{ size: string }>({ text: 'SELECT pg_database_size(current_database())::text AS size' });
      return Number(rows[0]?.size ?? 0);
    },
    // Straight on the pool: a scrape while the database is down is no samples, not a log line.
    pgStats: (service) => readPgStats((sql) => pool.query(sql), service, 'idle'),
    async countLog() {
      const { rows } = await query<{ n: number }>({ text: 'SELECT count(*)::int AS n FROM log' });
      return rows[0]?.n ?? 0;
    },
    close: () => pool.end(),
  };
}
