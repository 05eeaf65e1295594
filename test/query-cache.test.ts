import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedisServer, redisAnswers, startRedis, type LocalRedis } from '../runner/platforms/local/redis.js';
import { freePort } from '../runner/platforms/local/ports.js';
import { withQueryCache } from '../system/sidecar/cache/query-cache.js';
import type { ServiceDatabase } from '../system/sidecar/db/database.js';
import type { CacheResult } from '../system/sidecar/metrics.js';

const missing = findRedisServer() === null;
if (missing) console.log('query-cache tests skipped: redis-server is not installed (apt-get install redis-server)');

/** A stand-in for PostgreSQL that counts the heavy queries it runs (what a cache must save). */
function countingDb(): ServiceDatabase & { heavyRuns: number } {
  const db = {
    heavyRuns: 0,
    ensureSchema: async () => {},
    async run(q: Parameters<ServiceDatabase['run']>[0]) {
      if (q.query === 'heavy' || q.query === 'heavy-cached') {
        db.heavyRuns++;
        return [{ count: q.n, avg: (q.n + 1) / 2, run: db.heavyRuns }];
      }
      return [{ id: 1 }];
    },
    ping: async () => true,
    sizeBytes: async () => 0,
    pgStats: async () => ({ db: [], tables: [], conns: [] }),
    countLog: async () => 0,
    close: async () => {},
  };
  return db;
}

describe.skipIf(missing)('heavy-cached through a real Redis with an ACL user per service', () => {
  let redis: LocalRedis;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authlab-redis-test-'));
    redis = await startRedis({ dir, port: await freePort(), services: ['p1-a', 'p1-b'] });
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('misses once, then hits without touching the database, and a write invalidates', async () => {
    const pg = countingDb();
    const results: CacheResult[] = [];
    const user = redis.users.get('p1-b')!;
    const db = withQueryCache(pg, { ...user, onResult: (r) => results.push(r), log: () => {} });
    await db.connect();
    try {
      const q = { query: 'heavy-cached', role: 'read', n: 1000 } as const;
      const first = await db.run(q, 'p1-a');
      const second = await db.run(q, 'p1-a');
      expect(second).toEqual(first);
      expect(pg.heavyRuns).toBe(1);
      await db.run({ query: 'write', role: 'write', note: 'x' }, 'p1-a');
      const third = await db.run(q, 'p1-a');
      expect(pg.heavyRuns).toBe(2);
      expect(third).not.toEqual(first); // recomputed after the write
      expect(results).toEqual(['miss', 'hit', 'invalidated', 'miss']);
    } finally {
      await db.close();
    }
  });

  it('a miss that overlaps a write does not store its rows: the next read is not served stale', async () => {
    // The heavy query reads the table before the write commits and finishes after the write's DEL.
    let version = 1;
    let releaseRead!: () => void;
    const readGate = new Promise<void>((r) => (releaseRead = r));
    let reading!: () => void;
    const readStarted = new Promise<void>((r) => (reading = r));
    const pg: ServiceDatabase = {
      ...countingDb(),
      async run(q) {
        if (q.query === 'heavy-cached') {
          const seen = version;
          if (seen === 1) {
            reading();
            await readGate;
          }
          return [{ version: seen }];
        }
        version++;
        return [{ id: version }];
      },
    };
    const results: CacheResult[] = [];
    const db = withQueryCache(pg, { ...redis.users.get('p1-a')!, onResult: (r) => results.push(r), log: () => {} });
    await db.connect();
    try {
      const q = { query: 'heavy-cached', role: 'read', n: 7 } as const;
      const slowRead = db.run(q, 'p1-b');
      await readStarted;
      await db.run({ query: 'write', role: 'write', note: 'newer' }, 'p1-b');
      releaseRead();
      expect(await slowRead).toEqual([{ version: 1 }]); // what it read is what it returns
      expect(await db.run(q, 'p1-b')).toEqual([{ version: 2 }]); // not the stale rows from the cache
      expect(await db.run(q, 'p1-b')).toEqual([{ version: 2 }]);
      expect(results).toEqual(['invalidated', 'miss', 'miss', 'hit']);
    } finally {
      await db.close();
    }
  });

  it("one service's ACL user cannot read or write another service's keys", async () => {
    const b = redis.users.get('p1-b')!;
    const a = redis.users.get('p1-a')!;
    const asB = createClient({ url: b.url, disableClientInfo: true });
    const asA = createClient({ url: a.url, disableClientInfo: true });
    await asB.connect();
    await asA.connect();
    try {
      await asB.hSet(`${b.prefix}heavy`, '1', 'secret of p1-b');
      await expect(asA.hGet(`${b.prefix}heavy`, '1')).rejects.toThrow(/NOPERM/);
      await expect(asA.hSet(`${b.prefix}heavy`, '1', 'forged')).rejects.toThrow(/NOPERM/);
      await expect(asA.sendCommand(['KEYS', '*'])).rejects.toThrow(/NOPERM/);
      expect(await asB.hGet(`${b.prefix}heavy`, '1')).toBe('secret of p1-b');
      // Nothing connects without a service's password: the default user is off.
      const anon = createClient({ url: `redis://127.0.0.1:${redis.port}`, disableClientInfo: true });
      anon.on('error', () => {});
      await anon.connect();
      await expect(anon.ping()).rejects.toThrow(/NOAUTH|NOPERM/);
      await anon.destroy();
    } finally {
      await asA.quit();
      await asB.quit();
    }
  });
});

/** A Redis of the test's own (one ACL user, p1-a) in a temporary directory; `cleanup` stops it and removes the directory. */
async function ownRedis(port: number): Promise<LocalRedis & { cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'authlab-redis-own-'));
  const redis = await startRedis({ dir, port, services: ['p1-a'] });
  return {
    ...redis,
    async cleanup() {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('the start-up probe of the local Redis', () => {
  it('answers false, without throwing, while nothing listens yet, and true once Redis answers', async () => {
    const port = await freePort();
    expect(await redisAnswers(`redis://127.0.0.1:${port}`)).toBe(false);
    if (missing) return;
    const own = await ownRedis(port);
    try {
      expect(await redisAnswers(own.users.get('p1-a')!.url)).toBe(true);
    } finally {
      await own.cleanup();
    }
  }, 20_000);
});

describe.skipIf(missing)('closing the cache after Redis went away', () => {
  it('close() resolves at once and closes the database too: a pod whose Redis stopped first is not held until the kubelet kills it', async () => {
    const own = await ownRedis(await freePort());
    let dbClosed = false;
    const db = withQueryCache(
      { ...countingDb(), close: async () => void (dbClosed = true) },
      {
        ...own.users.get('p1-a')!,
        onResult: () => {},
        log: () => {},
      },
    );
    try {
      await db.connect();
      await own.stop(); // as when the namespace's Redis pod is stopped in the same breath
      // the client notices and starts reconnecting; a QUIT now would wait for a Redis that is gone
      await new Promise((r) => setTimeout(r, 200));
      const t0 = performance.now();
      const closed = await Promise.race([
        db.close().then(() => 'closed'),
        new Promise((r) => setTimeout(() => r('still closing after 5 s'), 5000)),
      ]);
      expect(closed).toBe('closed');
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(dbClosed).toBe(true);
    } finally {
      await own.cleanup();
    }
  }, 20_000);
});

describe.skipIf(missing)('heavy-cached on the local platform with Redis', () => {
  it('serves the second heavy-cached from the cache, a write invalidates it, and the counters say so', async () => {
    const { startLocalPlatform } = await import('../runner/platforms/local/index.js');
    const platform = await startLocalPlatform({ pairs: 1, redis: true });
    try {
      const url = platform.targetUrl(1, 'enforce');
      const post = async (body: unknown) => {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status).toBe(200);
        return (await res.json()) as { rows: unknown[] };
      };
      const heavy = { query: 'heavy-cached', params: { n: 100_000 } };
      const first = await post(heavy);
      const second = await post(heavy);
      expect(second.rows).toEqual(first.rows);
      await post({ query: 'write', params: { note: 'invalidate' } });
      await post(heavy);
      const b = platform.endpoints.services.find((s) => s.name === 'p1-b')!;
      const metrics = await (await fetch(`${b.url}/metrics`)).text();
      const count = (result: string) =>
        Number(new RegExp(`^query_cache_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
      expect({ hit: count('hit'), miss: count('miss'), invalidated: count('invalidated') }).toEqual({ hit: 1, miss: 2, invalidated: 1 });
    } finally {
      await platform.close();
    }
  }, 90_000);
});
