import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HarnessFloor } from '../../results/schema.js';
import type { Engine } from '../engines/types.js';

export interface FloorOptions {
  /** Shape of the latency probe, as the study's runs use it. */
  connections: number;
  rateRps: number | null;
  /** Measured seconds of each of the two probes. */
  durationS: number;
  warmupS: number;
  signal?: AbortSignal;
}

/**
 * What the harness itself costs: the engine against a null endpoint (200 `{"rows":[]}`, no work)
 * started in this process on 127.0.0.1. Two probes: latency at the study's load shape (p50/p99, the
 * floor under every latency in the study) and an unlimited closed loop (max requests/s the engine
 * can deliver here).
 */
export async function measureFloor(engine: Engine, o: FloorOptions): Promise<HarnessFloor> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' });
      res.end('{"rows":[]}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/query`;
    const requests = [{ body: '{"query":"light","params":{"id":1}}', weight: 1 }];
    const shape = { url, requests, durationS: o.durationS, warmupS: o.warmupS, ...(o.signal ? { signal: o.signal } : {}) };
    const latency = await engine.run({ ...shape, connections: o.connections, rateRps: o.rateRps });
    const max = await engine.run({ ...shape, connections: Math.max(4, o.connections), rateRps: null });
    return {
      engine: engine.name,
      p50Us: Math.round(latency.latency.getValueAtPercentile(50)),
      p99Us: Math.round(latency.latency.getValueAtPercentile(99)),
      maxRps: Math.round(max.throughputRps),
      connections: o.connections,
      durationS: latency.measuredS,
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
