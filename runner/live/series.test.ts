import { describe, expect, it } from 'vitest';
import { LIVE_BUCKETS_SECONDS } from '../../system/protocol/metrics.js';
import { bucketIndex, createLiveSeries } from './series.js';
import { bucketQuantile } from './snapshot.js';

describe('live series', () => {
  it('puts a value in the bucket a linear scan would (le semantics), bounds included', () => {
    const scan = (s: number) => {
      const i = LIVE_BUCKETS_SECONDS.findIndex((b) => s <= b);
      return i < 0 ? LIVE_BUCKETS_SECONDS.length : i;
    };
    const values = [0, 1e-6, ...LIVE_BUCKETS_SECONDS, ...LIVE_BUCKETS_SECONDS.map((b) => b * 1.0001), 50];
    for (const v of values) expect(bucketIndex(v), String(v)).toBe(scan(v));
  });

  it('answers a median within ±5% of the true value, as histogram_quantile would', () => {
    const live = createLiveSeries();
    const observe = live.observer('light', 'enforce', 1);
    for (let us = 900; us <= 1100; us++) observe(us, 200);
    observe(0, 'timeout');
    const cell = live.latencyCells()[0]!;
    expect(cell.count).toBe(201);
    const p50 = bucketQuantile(0.5, cell.counts)! * 1e6;
    expect(Math.abs(p50 - 1000) / 1000).toBeLessThan(0.05);
    expect(live.responseCells()[0]!.byOutcome).toMatchObject({ ok: 201, timeout: 1, http_5xx: 0 });
  });

  it('exports the histogram cumulatively with +Inf equal to the count', async () => {
    const live = createLiveSeries();
    const observe = live.observer('heavy', 'off', 2);
    observe(20_000, 200);
    observe(30_000_000, 200);
    const text = await live.registry.metrics();
    expect(text).toMatch(/authlab_load_latency_seconds_bucket\{scenario="heavy",mode="off",le="\+Inf"\} 2/);
    expect(text).toMatch(/authlab_load_latency_seconds_bucket\{scenario="heavy",mode="off",le="10"\} 1/);
    expect(text).toMatch(/authlab_load_responses_total\{scenario="heavy",mode="off",pair="2",outcome="ok"\} 2/);
  });
});
