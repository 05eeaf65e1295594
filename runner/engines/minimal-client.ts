/**
 * The harness floor's reference (bench:floor): the least a client can do to time requests at a fixed
 * arrival rate. Raw `net` sockets, keep-alive, one pre-built request, a response read to its
 * Content-Length and timed with hrtime to its last byte; each connection sends on a fixed schedule
 * (rate/connections per second, random phase, as the autocannon engine paces). Prints one JSON line: the measured
 * response times as a compressed-base64 HDR histogram (µs) and the count.
 *
 * `node --import tsx runner/engines/minimal-client.ts <url> <connections> <rateRps> <durationS> <warmupS>`
 */
import { connect, type Socket } from 'node:net';
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { newHistogramUs } from './histogram.js';

const [urlArg, connArg, rateArg, durArg, warmArg] = process.argv.slice(2);
const url = new URL(urlArg ?? '');
const connections = Number(connArg);
const rateRps = Number(rateArg);
const durationS = Number(durArg);
const warmupS = Number(warmArg);
if (!(connections > 0 && rateRps > 0 && durationS > 0 && warmupS >= 0)) {
  console.error('usage: minimal-client.ts <url> <connections> <rateRps> <durationS> <warmupS>');
  process.exit(2);
}

const body = '{"query":"light","params":{"id":1}}';
const request = Buffer.from(
  `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
);
const histogram = newHistogramUs();
const t0 = process.hrtime.bigint();
const warmupNs = BigInt(Math.round(warmupS * 1e9));
const endNs = BigInt(Math.round((warmupS + durationS) * 1e9));
const intervalMs = (1000 * connections) / rateRps;
let errors = 0;

/** One keep-alive connection on its own schedule; resolves when its run is over. */
function drive(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    let sentAt = 0n;
    let pending: Buffer = Buffer.alloc(0);
    let nextMs = performance.now() + Math.random() * intervalMs;
    const send = (): void => {
      if (process.hrtime.bigint() - t0 >= endNs) {
        socket.end();
        resolve();
        return;
      }
      const wait = nextMs - performance.now();
      nextMs += intervalMs;
      if (wait > 0) setTimeout(fire, wait);
      else fire();
    };
    const fire = (): void => {
      sentAt = process.hrtime.bigint();
      socket.write(request);
    };
    socket.on('data', (chunk: Buffer) => {
      // The clock stops when the chunk that completes the response is read, before it is looked at (as
      // the autocannon engine's, last-byte.ts).
      const arrived = process.hrtime.bigint();
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const head = pending.indexOf('\r\n\r\n');
      if (head < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(pending.subarray(0, head).toString('latin1'))?.[1] ?? 0);
      if (pending.length < head + 4 + length) return;
      if (pending.subarray(9, 10).toString() !== '2') errors++;
      else if (sentAt - t0 >= warmupNs && sentAt - t0 < endNs) histogram.recordValue(Math.max(1, Number((arrived - sentAt) / 1000n)));
      pending = pending.subarray(head + 4 + length);
      send();
    });
    socket.on('error', () => {
      errors++;
      resolve();
    });
    send();
  });
}

const sockets = await Promise.all(
  Array.from(
    { length: connections },
    () =>
      new Promise<Socket>((resolve, reject) => {
        const s = connect(Number(url.port), url.hostname, () => resolve(s));
        s.setNoDelay(true);
        s.once('error', reject);
      }),
  ),
);
await Promise.all(sockets.map(drive));
console.log(JSON.stringify({ hdr: encodeIntoCompressedBase64(histogram), count: histogram.totalCount, errors }));
