/**
 * The Node ceiling of `bench:hop`: the least a Node process can do to forward `/call/<target>/query` —
 * node:http in, the body read whole, one undici Pool with keep-alive to the upstream (as the sidecar's),
 * the answer's bytes relayed with its status — with no framework, no validation, no token, no metrics,
 * no Server-Timing. What the sidecar pays above this is its own; what this pays above nginx is Node's
 * HTTP stack on this host. `UPSTREAM=http://127.0.0.1:<port> node --import tsx minimal-proxy.ts` prints
 * `{"event":"listening","url":...}` and stops on SIGTERM.
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';
import { announceListening } from '../../runtime/announce.js';
import { forward } from '../routes/forward.js';

const upstream = process.env.UPSTREAM;
if (!upstream) {
  console.error('minimal-proxy: set UPSTREAM to the upstream origin');
  process.exit(2);
}
const pool = new Pool(upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d));
  req.on('end', () => {
    forward(pool, { path: '/query', method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) }).then(
      (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body),
      () => res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"upstream"}'),
    );
  });
});
announceListening(server, () => pool.close());
