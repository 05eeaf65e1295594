import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { uncompress } from 'snappyjs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { panelProblem, panelQueries, promQuery } from '../../test/support/panels.js';
import { freePort } from '../platforms/local/ports.js';
import { startObservation } from './observe.js';
import { findTool, startLocalPrometheus, type LocalPrometheus } from './prometheus.js';
import { encodeWriteRequest, startRemoteWrite, toSeries, type PushedSeries } from './remote-write.js';
import { createLiveSeries } from './series.js';

/** Reads a WriteRequest back field by field (the wire format, not the writer that made it). */
function decodeWriteRequest(bytes: Uint8Array): PushedSeries[] {
  const out: PushedSeries[] = [];
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, type] = r.tag();
    expect([field, type]).toEqual([1, WireType.LengthDelimited]);
    const ts = new BinaryReader(r.bytes());
    const s: PushedSeries = { labels: [], value: NaN, timestampMs: NaN };
    while (ts.pos < ts.len) {
      const [f] = ts.tag();
      const m = new BinaryReader(ts.bytes());
      if (f === 1) {
        const label: [string, string] = ['', ''];
        while (m.pos < m.len) label[m.tag()[0] - 1] = m.string();
        s.labels.push(label);
      } else {
        expect(f).toBe(2);
        while (m.pos < m.len) {
          const [sf] = m.tag();
          if (sf === 1) s.value = m.double();
          else s.timestampMs = Number(m.int64());
        }
      }
    }
    out.push(s);
  }
  return out;
}

describe('remote write: the WriteRequest', () => {
  it('gives every sample its series name, the runner target labels and its own, sorted by name', async () => {
    const registry = new Registry();
    new Counter({ name: 'rw_requests_total', help: 'x', labelNames: ['mode', 'job'], registers: [registry] }).inc(
      { mode: 'enforce', job: 'mine' },
      3,
    );
    new Histogram({ name: 'rw_latency_seconds', help: 'x', labelNames: ['mode'], buckets: [0.5], registers: [registry] }).observe(
      { mode: 'off' },
      0.2,
    );
    const series = toSeries(await registry.getMetricsAsJSON(), { job: 'authlab-runner', instance: 'runner' }, 1_700_000_000_123);
    expect(decodeWriteRequest(encodeWriteRequest(series))).toEqual(series);
    // What the pusher sends: the same request, snappy-compressed, with the protocol's headers.
    const sent: Request[] = [];
    const capture: typeof fetch = async (url, init) => (sent.push(new Request(url, init)), new Response(null, { status: 204 }));
    const rw = startRemoteWrite({ registry, url: 'http://prometheus.invalid:9090', fetch: capture, now: () => 1_700_000_000_123 });
    await rw.stop();
    expect(sent.length).toBe(2); // the first push at start, the last at stop
    const req = sent[0]!;
    expect([req.method, req.url]).toEqual(['POST', 'http://prometheus.invalid:9090/api/v1/write']);
    expect(
      Object.fromEntries(['content-encoding', 'content-type', 'x-prometheus-remote-write-version'].map((h) => [h, req.headers.get(h)])),
    ).toEqual({
      'content-encoding': 'snappy',
      'content-type': 'application/x-protobuf',
      'x-prometheus-remote-write-version': '0.1.0',
    });
    const decoded = decodeWriteRequest(uncompress(new Uint8Array(await req.arrayBuffer())));
    expect(decoded).toEqual(series);
    // Timestamps strictly increase even when the clock does not move between pushes.
    expect(decodeWriteRequest(uncompress(new Uint8Array(await sent[1]!.arrayBuffer())))[0]?.timestampMs).toBe(1_700_000_000_124);
    const byName = Object.fromEntries(decoded.map((s) => [s.labels.map(([k, v]) => `${k}=${v}`).join(','), s.value]));
    expect(byName).toEqual({
      '__name__=rw_requests_total,exported_job=mine,instance=runner,job=authlab-runner,mode=enforce': 3,
      '__name__=rw_latency_seconds_bucket,instance=runner,job=authlab-runner,le=0.5,mode=off': 1,
      '__name__=rw_latency_seconds_bucket,instance=runner,job=authlab-runner,le=+Inf,mode=off': 1,
      '__name__=rw_latency_seconds_sum,instance=runner,job=authlab-runner,mode=off': 0.2,
      '__name__=rw_latency_seconds_count,instance=runner,job=authlab-runner,mode=off': 1,
    });
    expect(decoded.every((s) => s.timestampMs === 1_700_000_000_123)).toBe(true);
  });
});

describe('remote write: an unreachable or refusing Prometheus', () => {
  it('never throws, counts every failed push, logs only the first, and leaves no timer behind', async () => {
    const registry = new Registry();
    new Gauge({ name: 'rw_up', help: 'x', registers: [registry] }).set(1);
    const lines: string[] = [];
    const rw = startRemoteWrite({ registry, url: `http://127.0.0.1:${await freePort()}`, intervalMs: 50, log: (l) => lines.push(l) });
    await sleep(400);
    expect(await rw.push()).toBe(false);
    await rw.stop();
    expect(rw.failures).toBe(rw.pushes);
    expect(rw.failures).toBeGreaterThanOrEqual(4);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/remote write of the runner's series to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write failed/);
    expect(rw.lastError?.code).toBe('ERR_REMOTE_WRITE');
    const after = rw.pushes;
    await sleep(200);
    expect(rw.pushes).toBe(after);
  });

  it("reports a refusal with Prometheus's answer", async () => {
    const registry = new Registry();
    new Gauge({ name: 'rw_up', help: 'x', registers: [registry] }).set(1);
    const lines: string[] = [];
    const fake: typeof fetch = async () => new Response('out of order sample\n', { status: 400 });
    const rw = startRemoteWrite({ registry, url: 'http://prometheus.invalid:9090/', fetch: fake, log: (l) => lines.push(l) });
    await rw.stop();
    expect(rw.writeUrl).toBe('http://prometheus.invalid:9090/api/v1/write');
    expect(lines).toEqual([expect.stringMatching(/failed \(HTTP 400: out of order sample\)/)]);
  });
});

// A real Prometheus as the receiver: Debian's, as the local platform's --observe runs it (.ci/run installs it).
const prometheusBin = findTool('prometheus');
if (!prometheusBin)
  console.warn("SKIP runner/live/remote-write.test.ts (real Prometheus): Debian's prometheus is missing (apt-get install -y prometheus)");

describe.skipIf(!prometheusBin)('remote write into a real Prometheus (--web.enable-remote-write-receiver)', () => {
  let prometheus: LocalPrometheus;
  beforeAll(async () => {
    // Nothing listens on the scrape targets: this Prometheus only receives.
    const dead = `http://127.0.0.1:${await freePort()}`;
    prometheus = await startLocalPrometheus({
      endpoints: { idp: { url: dead }, services: [] },
      runnerUrl: dead,
      remoteWriteReceiver: true,
      binary: prometheusBin!,
    });
  });
  afterAll(async () => {
    await prometheus?.stop();
  });

  it('stores a counter, a gauge and a histogram with their labels; histogram_quantile answers over the pushed buckets', async () => {
    const registry = new Registry();
    const requests = new Counter({ name: 'rw_requests_total', help: 'x', labelNames: ['mode'], registers: [registry] });
    const temperature = new Gauge({ name: 'rw_temperature_celsius', help: 'x', labelNames: ['room'], registers: [registry] });
    const latency = new Histogram({
      name: 'rw_latency_seconds',
      help: 'x',
      labelNames: ['mode'],
      buckets: [0.1, 0.5, 1],
      registers: [registry],
    });
    requests.inc({ mode: 'enforce' }, 3);
    temperature.set({ room: 'lab' }, 21.5);
    for (const s of [0.05, 0.05, 0.05, 0.05, 0.3, 0.3, 0.3, 0.3, 0.8, 0.8]) latency.observe({ mode: 'enforce' }, s);
    const lines: string[] = [];
    const rw = startRemoteWrite({ registry, url: prometheus.url, intervalMs: 200, log: (l) => lines.push(l) });
    await sleep(500);
    await rw.stop();
    expect(lines).toEqual([]);
    expect(rw.failures).toBe(0);

    const one = async (q: string) => {
      const r = await promQuery(prometheus.url, q);
      expect(r, q).toHaveLength(1);
      return r[0]!;
    };
    const counter = await one('rw_requests_total');
    expect(counter.metric).toEqual({ __name__: 'rw_requests_total', job: 'authlab-runner', instance: 'runner', mode: 'enforce' });
    expect(counter.value[1]).toBe('3');
    expect((await one('rw_temperature_celsius{job="authlab-runner", room="lab"}')).value[1]).toBe('21.5');
    expect((await one('rw_latency_seconds_count{mode="enforce"}')).value[1]).toBe('10');
    expect(Number((await one('rw_latency_seconds_sum{mode="enforce"}')).value[1])).toBeCloseTo(3.0, 9);
    // Cumulative buckets 4, 8, 10, 10: the median (rank 5) is a quarter into (0.1, 0.5].
    const p50 = await one('histogram_quantile(0.5, sum by (le) (rw_latency_seconds_bucket{mode="enforce"}))');
    expect(Number(p50.value[1])).toBeCloseTo(0.2, 9);
  });

  it("answers every panel of the dashboard that reads the runner's own series (as on kind)", async () => {
    const live = createLiveSeries();
    live.phase('scenario light (1 of 1)', 'light');
    live.trial(1, 3);
    const rw = startRemoteWrite({ registry: live.registry, url: prometheus.url, intervalMs: 200 });
    // rate() needs two samples that differ: responses between pushes, in each mode.
    for (let i = 0; i < 6; i++) {
      for (const mode of ['off', 'enforce']) {
        const observe = live.observer('light', mode, 1);
        for (let n = 0; n < 50; n++) observe(800 + n * 10, 200);
        observe(1000, 503);
      }
      await sleep(150);
    }
    await rw.stop();
    expect(rw.failures).toBe(0);
    const runnerPanels = panelQueries().filter((q) => /authlab_(load|study)_/.test(q.expr));
    expect(runnerPanels.length).toBeGreaterThanOrEqual(5);
    const problems: string[] = [];
    for (const q of runnerPanels) {
      const p = await panelProblem(prometheus.url, q);
      if (p) problems.push(p);
    }
    expect(problems).toEqual([]);
    const p50 = await promQuery(
      prometheus.url,
      'histogram_quantile(0.5, sum by (mode, le) (rate(authlab_load_latency_seconds_bucket{mode="enforce"}[30s])))',
    );
    // 50 responses of 0.8–1.29 ms per push: the median is about a millisecond.
    expect(Number(p50[0]?.value[1])).toBeGreaterThan(0.0008);
    expect(Number(p50[0]?.value[1])).toBeLessThan(0.0013);
  });

  it("on a cluster platform whose pods cannot reach the runner (kind), startObservation pushes the runner's series until close()", async () => {
    const live = createLiveSeries();
    live.phase('scenario light (1 of 1)', 'light');
    live.trial(2, 3);
    const endpoints = { idp: { url: 'http://127.0.0.1:9' }, admin: { token: '' }, postgres: { url: '' }, services: [] };
    const inCluster = { url: prometheus.url, inClusterUrl: 'http://10.97.0.10:9090', config: '' };
    const kind = await startObservation({
      live,
      endpoints,
      prometheus: true,
      cluster: { startPrometheus: async () => inCluster },
      postgresStats: false,
    });
    // kube: pods reach the runner at runnerAddress, Prometheus scrapes it there; nothing is pushed.
    const kube = await startObservation({
      live: createLiveSeries(),
      endpoints,
      prometheus: true,
      cluster: { runnerAddress: '127.0.0.2', startPrometheus: async () => inCluster },
      postgresStats: false,
    });
    try {
      expect(kind.remoteWrite?.writeUrl).toBe(`${prometheus.url}/api/v1/write`);
      expect(kube.remoteWrite).toBeUndefined();
      expect(kube.server.metricsPort).toBeGreaterThan(0);
    } finally {
      await kind.close();
      await kube.close();
    }
    // close() made a last push and stopped the timer.
    expect(kind.remoteWrite!.failures).toBe(0);
    const pushes = kind.remoteWrite!.pushes;
    expect(pushes).toBeGreaterThanOrEqual(2);
    const trial = await promQuery(prometheus.url, 'authlab_study_trial{scenario="light"}');
    expect(trial.map((s) => [s.metric.job, s.metric.instance, s.value[1]])).toEqual([['authlab-runner', 'runner', '2']]);
    await sleep(1200);
    expect(kind.remoteWrite!.pushes).toBe(pushes);
  });
});
