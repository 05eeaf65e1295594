import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import type { ServiceDatabase } from '../db/database.js';
import type { CacheResult } from '../metrics.js';

/** Where a sidecar caches `heavy-cached` results: its own Redis ACL user and key prefix. */
export interface QueryCacheOptions {
  /** `redis://<user>:<password>@host:port`: the service's own ACL user, limited to keys under `prefix`. */
  url: string;
  /** Key prefix the ACL user may touch (`p1-a:`). */
  prefix: string;
  /** How long a cached result lives without a `write`, seconds (default 300). */
  ttlSeconds?: number;
  onResult(result: CacheResult): void;
  log(message: string): void;
}

/** How long `close()` waits for a connected Redis to acknowledge the goodbye. */
const CLOSE_WAIT_MS = 1000;

/** A service database whose `heavy-cached` goes through Redis; `close()` also closes the Redis client. */
export interface CachedDatabase extends ServiceDatabase {
  /** Connects to Redis (the sidecar still starts, and serves from PostgreSQL, when it cannot). */
  connect(): Promise<void>;
}

/**
 * Wraps the service database with a Redis cache of the heavy SELECT: `heavy-cached` reads the hash
 * `<prefix>heavy` field `n`, and on a miss runs the query and stores it; `write` deletes the hash
 * after its INSERT, so the next read is a miss. Redis trouble never fails a request: the query is
 * served from PostgreSQL and counted as `error`.
 *
 * A miss stores its rows only if no `write` ran at any point while it queried: otherwise a miss that
 * read the rows before a write committed could store them after the write's DEL, and stale rows would
 * be served until the TTL. Only this sidecar writes its service's key (its ACL user owns the prefix),
 * so the writes in flight and a counter of finished ones, both in this process, decide.
 */
export function withQueryCache(db: ServiceDatabase, o: QueryCacheOptions): CachedDatabase {
  const client = createClient({ url: o.url, disableClientInfo: true, socket: { reconnectStrategy: (n) => Math.min(50 * 2 ** n, 2000) } });
  client.on('error', () => {}); // reconnects by itself; each failed call is counted below
  const key = `${o.prefix}heavy`;
  const ttl = o.ttlSeconds ?? 300;
  let lastLogMs = -Infinity;
  // Writes that started, and writes in flight: a miss that saw either change does not store.
  let writesStarted = 0;
  let writesInFlight = 0;
  const failed = (err: unknown) => {
    o.onResult('error');
    if (Date.now() - lastLogMs > 10_000) {
      lastLogMs = Date.now();
      o.log(`query cache: ${(err as Error).message}`);
    }
  };
  return {
    ...db,
    async connect() {
      await client.connect().catch(failed);
    },
    async run(q, caller) {
      if (q.query === 'heavy-cached') {
        if (client.isReady) {
          try {
            const hit = await client.hGet(key, String(q.n));
            if (hit !== null && hit !== undefined) {
              o.onResult('hit');
              return JSON.parse(hit) as unknown[];
            }
          } catch (err) {
            failed(err);
            return db.run(q, caller);
          }
        }
        const startedBefore = writesStarted;
        const quiet = writesInFlight === 0;
        const rows = await db.run(q, caller);
        if (client.isReady) {
          o.onResult('miss');
          if (quiet && writesInFlight === 0 && writesStarted === startedBefore) {
            await client.multi().hSet(key, String(q.n), JSON.stringify(rows)).expire(key, ttl).exec().catch(failed);
          }
        } else {
          failed(new Error('Redis is not connected'));
        }
        return rows;
      }
      if (q.query !== 'write') return db.run(q, caller);
      writesStarted++;
      writesInFlight++;
      try {
        const rows = await db.run(q, caller);
        try {
          await client.del(key);
          o.onResult('invalidated');
        } catch (err) {
          failed(err);
        }
        return rows;
      } finally {
        writesInFlight--;
      }
    },
    async close() {
      // QUIT waits for an answer, and a client that lost Redis queues it until it reconnects, which
      // it never does when Redis went first (a namespace deleted on Kubernetes stops every pod at
      // once): the sidecar hung in close until the kubelet killed it after the grace period. Say
      // goodbye only to a connected Redis, briefly; otherwise drop the socket.
      if (client.isReady) await Promise.race([client.close().catch(() => {}), sleep(CLOSE_WAIT_MS)]);
      if (client.isOpen) client.destroy();
      await db.close();
    },
  };
}
