import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import { compress } from 'snappyjs';
import { AuthlabError } from '../../system/protocol/errors.js';

/**
 * The runner's live series pushed into a Prometheus with the remote-write 1.0 protocol: where the
 * in-cluster Prometheus cannot scrape the runner (kind: the runner reaches the cluster through
 * port-forwards, pods cannot reach it), the runner writes its registry there itself, through the same
 * port-forward it queries Prometheus by. The receiving Prometheus runs with
 * `--web.enable-remote-write-receiver` (cluster/deploy/observability.ts).
 */

/** One series of a WriteRequest: labels sorted by name (`__name__` first), one sample. */
export interface PushedSeries {
  labels: [name: string, value: string][];
  value: number;
  timestampMs: number;
}

/** The labels a scrape of the runner's `/metrics` would give its series (job `authlab-runner`). */
export const RUNNER_TARGET_LABELS = { job: 'authlab-runner', instance: 'runner' } as const;

/**
 * Every sample of `families` (prom-client's `getMetricsAsJSON()`) as one series at `timestampMs`:
 * `__name__` is the sample's `metricName` (histograms: `_bucket` with `le`, `_sum`, `_count`) or the
 * family's name, then `target` labels (job, instance) and the sample's own. As a scrape without
 * `honor_labels` would, a sample label clashing with a target label is kept as `exported_<name>`;
 * empty values are left out (Prometheus treats an empty label as absent). Sorted by name, as the
 * protocol requires.
 */
export function toSeries(
  families: readonly MetricObjectWithValues<MetricValue<string>>[],
  target: Readonly<Record<string, string>>,
  timestampMs: number,
): PushedSeries[] {
  const out: PushedSeries[] = [];
  for (const family of families) {
    for (const sample of family.values) {
      const labels = new Map<string, string>(Object.entries(target));
      for (const [name, raw] of Object.entries(sample.labels)) {
        if (raw === undefined) continue;
        const value = String(raw);
        if (value !== '') labels.set(name in target ? `exported_${name}` : name, value);
      }
      labels.set('__name__', (sample as { metricName?: string }).metricName ?? family.name);
      out.push({ labels: [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), value: sample.value, timestampMs });
    }
  }
  return out;
}

/**
 * `prometheus.WriteRequest` (remote-write 1.0, prompb/types.proto and remote.proto) in protobuf:
 * `WriteRequest { repeated TimeSeries timeseries = 1; }`, `TimeSeries { repeated Label labels = 1;
 * repeated Sample samples = 2; }`, `Label { string name = 1; string value = 2; }`,
 * `Sample { double value = 1; int64 timestamp = 2; }` (milliseconds). Not compressed.
 */
export function encodeWriteRequest(series: readonly PushedSeries[]): Uint8Array {
  const w = new BinaryWriter();
  for (const s of series) {
    w.tag(1, WireType.LengthDelimited).fork();
    for (const [name, value] of s.labels) {
      w.tag(1, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string(name)
        .tag(2, WireType.LengthDelimited)
        .string(value)
        .join();
    }
    w.tag(2, WireType.LengthDelimited).fork().tag(1, WireType.Bit64).double(s.value).tag(2, WireType.Varint).int64(s.timestampMs).join();
    w.join();
  }
  return w.finish();
}

export interface RemoteWriteOptions {
  registry: Registry;
  /** Base URL of the receiving Prometheus; the writes go to `<url>/api/v1/write`. */
  url: string;
  /** Between pushes, ms (default 1000: the in-cluster scrape interval, IN_CLUSTER_SCRAPE_INTERVAL_S). */
  intervalMs?: number;
  /** One push's HTTP deadline, ms (default 5000). */
  timeoutMs?: number;
  /** Target labels of every series (default {@link RUNNER_TARGET_LABELS}). */
  target?: Readonly<Record<string, string>>;
  /** Where the first failed push is reported (one line; later failures are only counted). */
  log?: (line: string) => void;
  fetch?: typeof fetch;
  /** Sample timestamps, ms since the epoch (default `Date.now`). */
  now?: () => number;
}

export interface RemoteWrite {
  /** `<url>/api/v1/write` */
  readonly writeUrl: string;
  /** Pushes attempted so far (skipped empty registries included). */
  readonly pushes: number;
  readonly failures: number;
  /** Why the latest failed push failed (`ERR_REMOTE_WRITE`, the cause attached). */
  readonly lastError: AuthlabError | undefined;
  /** Pushes the registry now (after any push in flight); false when it failed. Never throws. */
  push(): Promise<boolean>;
  /** Stops the timer, waits for a push in flight and makes one last push. Idempotent. */
  stop(): Promise<void>;
}

const HEADERS = {
  'content-encoding': 'snappy',
  'content-type': 'application/x-protobuf',
  'x-prometheus-remote-write-version': '0.1.0',
  'user-agent': 'authlab-runner',
};

/**
 * Pushes `registry` to `url` every `intervalMs` (the first at once), one push at a time: a push still
 * in flight when the next is due makes that one skip, so samples reach Prometheus in timestamp order.
 * A failed push (Prometheus unreachable, a non-2xx answer) never throws: it is counted, and only the
 * first is logged. The timer does not hold the process open; `stop()` ends it.
 */
export function startRemoteWrite(o: RemoteWriteOptions): RemoteWrite {
  const writeUrl = `${o.url.replace(/\/+$/, '')}/api/v1/write`;
  const doFetch = o.fetch ?? fetch;
  const now = o.now ?? Date.now;
  const target = o.target ?? RUNNER_TARGET_LABELS;
  const timeoutMs = o.timeoutMs ?? 5000;
  let pushes = 0;
  let failures = 0;
  let lastError: AuthlabError | undefined;
  let lastTimestampMs = -Infinity;
  let inflight: Promise<boolean> | undefined;
  let stopped: Promise<void> | undefined;

  const pushOnce = async (): Promise<boolean> => {
    pushes++;
    try {
      // Strictly increasing: Prometheus refuses a second sample at the same timestamp with another value.
      const timestampMs = Math.max(now(), lastTimestampMs + 1);
      lastTimestampMs = timestampMs;
      const series = toSeries(await o.registry.getMetricsAsJSON(), target, timestampMs);
      if (series.length === 0) return true;
      const res = await doFetch(writeUrl, {
        method: 'POST',
        headers: HEADERS,
        body: compress(encodeWriteRequest(series)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const answer = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${answer.trim().slice(0, 300)}`);
      return true;
    } catch (err) {
      failures++;
      const reason =
        err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
      lastError = new AuthlabError(
        'ERR_REMOTE_WRITE',
        `remote write of the runner's series to ${writeUrl} failed (${reason}); Prometheus misses them until a push succeeds`,
        { cause: err },
      );
      if (failures === 1) o.log?.(`${lastError.message} (further failures are counted, not logged)`);
      return false;
    }
  };
  const push = async (): Promise<boolean> => {
    while (inflight) await inflight;
    inflight = pushOnce().finally(() => (inflight = undefined));
    return inflight;
  };
  const tick = () => {
    if (!inflight && !stopped) void push();
  };
  const timer = setInterval(tick, o.intervalMs ?? 1000);
  timer.unref();
  tick();

  return {
    writeUrl,
    get pushes() {
      return pushes;
    },
    get failures() {
      return failures;
    },
    get lastError() {
      return lastError;
    },
    push,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        await push();
      })()),
  };
}
