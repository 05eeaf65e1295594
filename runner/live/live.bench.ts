import { RunRecorder } from '../engines/histogram.js';
import { createLiveSeries } from './series.js';

/**
 * `npm run bench:live`: what the live series add to the load loop, per response — the engine's own
 * RunRecorder.record (the reference, measured in the same run) with and without the live observer.
 */
const N = 2_000_000;
const latencies = Float64Array.from({ length: 4096 }, (_, i) => 400 + ((i * 7919) % 3000));
const header = 'sign;dur=0.012, upstream;dur=0.8, total;dur=0.9, peer-verify;dur=0.01, peer-db;dur=0.3, peer-total;dur=0.5';

function time(label: string, make: () => RunRecorder): number {
  const r = make();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) r.record(10, latencies[i & 4095]!, 200, header);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${label.padEnd(34)} ${ns.toFixed(0)} ns/response`);
  return ns;
}

const live = createLiveSeries();
const observer = live.observer('light', 'enforce', 1);
for (let round = 0; round < 3; round++) {
  const base = time('RunRecorder.record (reference)', () => new RunRecorder(0));
  const withLive = time('RunRecorder.record + live observer', () => new RunRecorder(0, Number.POSITIVE_INFINITY, observer));
  console.log(`  live series add ${(withLive - base).toFixed(0)} ns/response (${(((withLive - base) / base) * 100).toFixed(1)}%)`);
}
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) observer(latencies[i & 4095]!, 200);
console.log(`live observer alone                ${(Number(process.hrtime.bigint() - t0) / N).toFixed(0)} ns/response`);
