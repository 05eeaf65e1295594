import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { bindCounter, bindHistogram, perKey } from './bound-metrics.js';
import { LATENCY_BUCKETS_SECONDS } from './metrics.js';

function twin() {
  const registry = new Registry();
  // As the sidecar's registry: default labels are added at export, not stored in the series.
  registry.setDefaultLabels({ service: 'p1-b', pair: '1' });
  const histogram = new Histogram({
    name: 'req_seconds',
    help: 'h',
    labelNames: ['direction', 'query'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const plain = new Histogram({ name: 'plain_seconds', help: 'p', buckets: [0.1, 1], registers: [registry] });
  const counter = new Counter({ name: 'verified_total', help: 'c', labelNames: ['result'] as const, registers: [registry] });
  return { registry, histogram, plain, counter };
}

// Values on bucket bounds, between them, below the first, above the last (+Inf only) and zero.
const VALUES = [0, 0.00005, 0.00007, 0.0001, 0.0003, 0.001, 0.0025, 0.7, 2.5, 3, 10, 0.00049];

describe('bound prom-client children', () => {
  it('export exactly what prom-client children export for the same calls', async () => {
    const a = twin();
    const b = twin();
    const boundIn = bindHistogram(a.histogram, { direction: 'inbound', query: 'light' });
    const boundOut = bindHistogram(a.histogram, { direction: 'outbound', query: 'heavy' });
    const boundPlain = bindHistogram(a.plain, {});
    const ok = bindCounter(a.counter, { result: 'ok' });
    const denied = bindCounter(a.counter, { result: 'forbidden' });
    for (const [i, v] of VALUES.entries()) {
      boundIn.observe(v);
      b.histogram.labels('inbound', 'light').observe(v);
      if (i % 3 === 0) {
        boundOut.observe(v * 2);
        b.histogram.labels({ direction: 'outbound', query: 'heavy' }).observe(v * 2);
      }
      boundPlain.observe(v);
      b.plain.observe(v);
      ok.inc();
      b.counter.labels('ok').inc();
      if (i % 4 === 0) {
        denied.inc();
        b.counter.inc({ result: 'forbidden' });
      }
    }
    const text = await a.registry.metrics();
    expect(text).toBe(await b.registry.metrics());
    expect(text).toContain('req_seconds_count{service="p1-b",pair="1",direction="inbound",query="light"} 12');
    expect(text).toContain('req_seconds_bucket{le="+Inf",service="p1-b",pair="1",direction="inbound",query="light"} 12');
    expect(text).toContain('req_seconds_bucket{le="0.0001",service="p1-b",pair="1",direction="inbound",query="light"} 4');
    expect(text).toContain('verified_total{result="forbidden",service="p1-b",pair="1"} 3');
  });

  it('add() of bucket counts, sum and count exports what observing the same values exports', async () => {
    const a = twin();
    const b = twin();
    // The Go data plane's snapshot: per bucket the values whose first bound ≥ the value, not cumulative.
    const counts = LATENCY_BUCKETS_SECONDS.map(
      (bound, i) => VALUES.filter((v) => v <= bound && (i === 0 || v > LATENCY_BUCKETS_SECONDS[i - 1]!)).length,
    );
    const sum = VALUES.reduce((x, y) => x + y, 0);
    const h = bindHistogram(a.histogram, { direction: 'outbound', query: 'light' });
    h.observe(0.001);
    b.histogram.labels('outbound', 'light').observe(0.001);
    h.add(counts, sum, VALUES.length);
    for (const v of VALUES) b.histogram.labels('outbound', 'light').observe(v);
    const fresh = bindHistogram(a.histogram, { direction: 'outbound', query: 'heavy' });
    fresh.add(counts, sum, VALUES.length); // creates the series
    for (const v of VALUES) b.histogram.labels('outbound', 'heavy').observe(v);
    fresh.add(
      counts.map(() => 0),
      0,
      0,
    ); // nothing happened: no change
    const c = bindCounter(a.counter, { result: 'ok' });
    c.add(5);
    c.inc();
    c.add(0);
    b.counter.labels('ok').inc(6);
    expect(await a.registry.metrics()).toBe(await b.registry.metrics());
    expect(() => h.add([1], 0.1, 1)).toThrow(/one count per bucket/);
    expect(() => c.add(-1)).toThrow(/n ≥ 0/);
  });

  it('exports nothing for a label set before its first call, as prom-client does', async () => {
    const a = twin();
    bindHistogram(a.histogram, { direction: 'inbound', query: 'light' });
    bindCounter(a.counter, { result: 'ok' });
    const text = await a.registry.metrics();
    expect(text).not.toContain('direction="inbound"');
    expect(text).not.toContain('result="ok"');
  });

  it('keeps counting after the metric is reset or the series removed', async () => {
    const a = twin();
    const h = bindHistogram(a.histogram, { direction: 'inbound', query: 'light' });
    const c = bindCounter(a.counter, { result: 'ok' });
    h.observe(0.001);
    c.inc();
    a.registry.resetMetrics();
    h.observe(0.002);
    h.observe(0.003);
    c.inc();
    let text = await a.registry.metrics();
    expect(text).toContain('req_seconds_count{service="p1-b",pair="1",direction="inbound",query="light"} 2');
    expect(text).toContain('req_seconds_sum{service="p1-b",pair="1",direction="inbound",query="light"} 0.005');
    expect(text).toContain('verified_total{result="ok",service="p1-b",pair="1"} 1');
    a.histogram.remove('inbound', 'light');
    h.observe(0.004);
    text = await a.registry.metrics();
    expect(text).toContain('req_seconds_count{service="p1-b",pair="1",direction="inbound",query="light"} 1');
  });

  it('refuses what prom-client refuses', () => {
    const a = twin();
    const h = bindHistogram(a.histogram, { direction: 'inbound', query: 'light' });
    expect(() => h.observe(Number.NaN)).toThrow(TypeError); // first call: prom-client's own check
    h.observe(0.001);
    expect(() => h.observe(Number.POSITIVE_INFINITY)).toThrow(/not a valid number/); // bound path
    const wrong = bindCounter(a.counter, { nope: 'x' } as never);
    expect(() => wrong.inc()).toThrow(/label/i);
  });
});

describe('perKey', () => {
  it('makes a value once per key and returns that same value after, nested per label', () => {
    const made: string[] = [];
    const child = perKey((a: string) => perKey((b: string) => (made.push(`${a}/${b}`), { a, b })));
    const first = child('inbound')('light');
    expect(child('inbound')('light')).toBe(first);
    expect(child('inbound')('heavy')).not.toBe(first);
    expect(child('outbound')('light')).toEqual({ a: 'outbound', b: 'light' });
    expect(made).toEqual(['inbound/light', 'inbound/heavy', 'outbound/light']);
  });
});
