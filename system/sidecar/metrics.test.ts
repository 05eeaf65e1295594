import { describe, expect, it } from 'vitest';
import { createSidecarMetrics } from './metrics.js';

/** The series a scrape shows for `name`, as `name{labels} value` with the labels sorted by name, sorted. */
async function series(text: Promise<string>, name: string): Promise<string[]> {
  return (await text)
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => {
      const m = /^([^{]+)\{(.*)\} (\S+)$/.exec(l)!;
      const labels = m[2]!.split(/,(?=[a-z_]+=")/).sort();
      return `${m[1]}{${labels.join(',')}} ${m[3]}`;
    })
    .sort();
}

describe('sidecar metrics (what a scrape of /metrics shows)', () => {
  it('counts each request under its own direction, query, verify and sign mode — no two combinations share a series', async () => {
    const m = createSidecarMetrics({ service: 'p1-b', pair: 1, defaultMetrics: false });
    m.request('inbound', 'light', 'enforce', 'on', 0.001);
    m.request('inbound', 'light', 'enforce', 'on', 0.002);
    m.request('inbound', 'light', 'observe', 'on', 0.001);
    m.request('inbound', 'light', 'enforce', 'off', 0.001);
    m.request('outbound', 'light', 'enforce', 'on', 0.001);
    m.request('inbound', 'heavy', 'enforce', 'on', 0.5);
    const counts = await series(m.registry.metrics(), 'sidecar_request_duration_seconds_count');
    expect(counts).toEqual(
      [
        'direction="inbound",pair="1",query="heavy",service="p1-b",sign_mode="on",verify_mode="enforce"} 1',
        'direction="inbound",pair="1",query="light",service="p1-b",sign_mode="off",verify_mode="enforce"} 1',
        'direction="inbound",pair="1",query="light",service="p1-b",sign_mode="on",verify_mode="enforce"} 2',
        'direction="inbound",pair="1",query="light",service="p1-b",sign_mode="on",verify_mode="observe"} 1',
        'direction="outbound",pair="1",query="light",service="p1-b",sign_mode="on",verify_mode="enforce"} 1',
      ]
        .map((l) => `sidecar_request_duration_seconds_count{${l}`)
        .sort(),
    );
    const sums = await series(m.registry.metrics(), 'sidecar_request_duration_seconds_sum');
    expect(
      sums.find((l) => l.includes('{direction="inbound",pair="1",query="light",service="p1-b",sign_mode="on",verify_mode="enforce"}')),
    ).toMatch(/ 0\.003$/);
  });

  it('counts verify, sign, cache and database outcomes per label value', async () => {
    const m = createSidecarMetrics({ service: 'p2-a', pair: 2, defaultMetrics: false });
    m.verified('ok');
    m.verified('ok');
    m.verified('forbidden');
    m.signed('skipped');
    m.cache('hit');
    m.cache('miss');
    m.cache('hit');
    m.db('light', 0.0004);
    m.db('light', 0.0006);
    m.db('write', 0.002);
    const text = m.registry.metrics();
    expect(await series(text, 'auth_verified_total')).toEqual([
      'auth_verified_total{pair="2",result="forbidden",service="p2-a"} 1',
      'auth_verified_total{pair="2",result="ok",service="p2-a"} 2',
    ]);
    expect(await series(text, 'auth_signed_total')).toEqual(['auth_signed_total{pair="2",result="skipped",service="p2-a"} 1']);
    expect(await series(text, 'query_cache_total')).toEqual([
      'query_cache_total{pair="2",result="hit",service="p2-a"} 2',
      'query_cache_total{pair="2",result="miss",service="p2-a"} 1',
    ]);
    expect(await series(text, 'db_query_duration_seconds_count')).toEqual([
      'db_query_duration_seconds_count{pair="2",query="light",service="p2-a"} 2',
      'db_query_duration_seconds_count{pair="2",query="write",service="p2-a"} 1',
    ]);
  });
});
