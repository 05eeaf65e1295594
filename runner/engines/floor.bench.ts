/**
 * Harness floor of both engines on this host: each drives an in-process null endpoint (no work) at
 * the light scenario's load shape, then unlimited, and prints p50/p99 (µs) and max requests/s.
 * Run: `npx tsx runner/engines/floor.bench.ts [durationS]` (default 5 s per probe).
 */
import { buildAutocannonEngine } from './autocannon.js';
import { buildK6Engine } from './k6.js';
import { measureFloor } from '../study/floor.js';
import light from '../../scenarios/light.js';

const durationS = Number(process.argv[2] ?? 5);
if (!(durationS > 0)) {
  console.error(`duration must be a positive number of seconds (got '${process.argv[2]}')`);
  process.exit(2);
}
for (const engine of [buildAutocannonEngine(), buildK6Engine()]) {
  const missing = await engine.unavailable();
  if (missing) {
    console.log(JSON.stringify({ engine: engine.name, skipped: missing }));
    continue;
  }
  const floor = await measureFloor(engine, { connections: light.full.connections, rateRps: light.full.rateRps, durationS, warmupS: 1 });
  console.log(JSON.stringify({ ...floor, rateRps: light.full.rateRps }));
}
