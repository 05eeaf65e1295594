import type { HarnessFloor } from '../../results/schema.js';
import type { Engine, EngineResult, EngineRunOptions } from '../engines/types.js';
import { startNullEndpoint } from './null-endpoint.js';

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
 * started in a process of its own on 127.0.0.1 (null-endpoint.ts). Two probes: an unlimited closed
 * loop (max requests/s the engine can deliver here), then latency at the study's load shape
 * (p50/p99, the floor under every latency in the study).
 */
export async function measureFloor(engine: Engine, o: FloorOptions): Promise<HarnessFloor> {
  const endpoint = await startNullEndpoint();
  try {
    // The unlimited probe first: it also warms the engine (autocannon's load process is new at this
    // point of a study, its code not yet optimised), so the latency probe sees the engine as the study's runs do.
    const max = await engine.run({ ...probeShape(endpoint.url, o), connections: Math.max(4, o.connections), rateRps: null });
    const latency = await latencyProbe(engine, endpoint.url, o);
    return {
      engine: engine.name,
      p50Us: Math.round(latency.latency.getValueAtPercentile(50)),
      p99Us: Math.round(latency.latency.getValueAtPercentile(99)),
      maxRps: Math.round(max.throughputRps),
      connections: o.connections,
      durationS: latency.measuredS,
    };
  } finally {
    await endpoint.close();
  }
}

function probeShape(url: string, o: FloorOptions): EngineRunOptions {
  const requests = [{ body: '{"query":"light","params":{"id":1}}', weight: 1 }];
  return {
    url,
    requests,
    connections: o.connections,
    rateRps: o.rateRps,
    durationS: o.durationS,
    warmupS: o.warmupS,
    ...(o.signal ? { signal: o.signal } : {}),
  };
}

/** The floor's latency probe against `url` (a null endpoint), exactly as a study runs it (bench:floor reuses it). */
export function latencyProbe(engine: Engine, url: string, o: FloorOptions): Promise<EngineResult> {
  return engine.run(probeShape(url, o));
}
