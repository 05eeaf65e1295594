/**
 * `npm run bench:metrics` — what one metric update costs on a request's hot path: prom-client's own
 * `labels(...)` child beside the bound child of bound-metrics.ts, for the sidecar's request histogram
 * (four labels, the latency buckets) and a one-label counter, interleaved rounds in one process.
 * Flags: --ops 500000 --rounds 5.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { bindCounter, bindHistogram } from '../bound-metrics.js';
import { benchFlags } from '../../runtime/bench-flags.js';
import { LATENCY_BUCKETS_SECONDS } from '../metrics.js';

const { numbers } = benchFlags('bench:metrics', {
  numbers: { ops: { default: 500_000, integer: true }, rounds: { default: 5, integer: true } },
});
const { ops, rounds } = numbers;

const registry = new Registry();
const histogram = new Histogram({
  name: 'sidecar_request_duration_seconds',
  help: 'h',
  labelNames: ['direction', 'query', 'verify_mode', 'sign_mode'],
  buckets: LATENCY_BUCKETS_SECONDS,
  registers: [registry],
});
const counter = new Counter({ name: 'auth_verified_total', help: 'c', labelNames: ['result'], registers: [registry] });
const labels = { direction: 'inbound', query: 'light', verify_mode: 'enforce', sign_mode: 'on' } as const;
const promHistogram = histogram.labels(labels);
const boundHistogram = bindHistogram(histogram, labels);
const promCounter = counter.labels('ok');
const boundCounter = bindCounter(counter, { result: 'ok' });
// Request times a sidecar sees (0.2–2.3 ms), cycled so the bucket search is not one branch.
const values = Array.from({ length: 64 }, (_, i) => 0.0002 + (i % 16) * 0.00014);

const contenders: [string, () => void][] = [
  [
    'histogram observe, prom-client labels() child',
    () => {
      for (let i = 0; i < ops; i++) promHistogram.observe(values[i & 63]!);
    },
  ],
  [
    'histogram observe, bound child',
    () => {
      for (let i = 0; i < ops; i++) boundHistogram.observe(values[i & 63]!);
    },
  ],
  [
    'counter inc, prom-client labels() child',
    () => {
      for (let i = 0; i < ops; i++) promCounter.inc();
    },
  ],
  [
    'counter inc, bound child',
    () => {
      for (let i = 0; i < ops; i++) boundCounter.inc();
    },
  ],
];
const ns: number[][] = contenders.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < contenders.length; k++) {
    const i = (k + r) % contenders.length;
    const t0 = process.hrtime.bigint();
    contenders[i]![1]();
    ns[i]!.push(Number(process.hrtime.bigint() - t0) / ops);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`bench:metrics — node ${process.version}; ${ops} ops per round, ${rounds} rounds (median ns/op, range)`);
contenders.forEach(([name], i) => {
  console.log(
    `  ${name.padEnd(48)} ${med(ns[i]!).toFixed(0).padStart(6)} ns  (${Math.min(...ns[i]!).toFixed(0)}–${Math.max(...ns[i]!).toFixed(0)})`,
  );
});
console.log(
  `bound / prom-client: histogram ${(med(ns[1]!) / med(ns[0]!)).toFixed(3)}×, counter ${(med(ns[3]!) / med(ns[2]!)).toFixed(3)}×`,
);
// The bound children wrote into prom-client's own series: the exposition holds both contenders' calls.
const text = await registry.metrics();
const count = /sidecar_request_duration_seconds_count\{[^}]*\} (\d+)/.exec(text)?.[1];
if (Number(count) !== ops * rounds * 2) {
  console.error(`bench:metrics: the exposition counts ${count} observations, expected ${ops * rounds * 2}`);
  process.exit(1);
}
