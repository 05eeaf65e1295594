/**
 * The reference of `bench:sidecar`: the least a Node server can do to answer `/query` light — node:http,
 * a pg pool of the sidecar's size, the same prepared statement submitted the sidecar's way on the same
 * database, JSON in and out — with no framework, no auth, no metrics. `DATABASE_URL=... node --import tsx minimal-server.ts`
 * prints `{"event":"listening","url":...}` and stops on SIGTERM.
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { announceListening } from '../../runtime/announce.js';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10, idleTimeoutMillis: 0 });
const LIGHT = 'SELECT id, data FROM items WHERE id = $1';

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  req.on('end', () => {
    let id: unknown;
    try {
      id = (JSON.parse(body) as { params?: { id?: unknown } }).params?.id;
    } catch {
      id = undefined;
    }
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad id"}');
      return;
    }
    // The sidecar's way (db/database.ts `submit`): a Query built from text skips pg's per-call config copy.
    const q = new pg.Query(LIGHT, [id]);
    (q as { name?: string }).name = 'light';
    (pool.query(q) as unknown as Promise<pg.QueryResult>).then(
      (r) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rows: r.rows })),
      () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"database"}'),
    );
  });
});
announceListening(server, () => pool.end());
