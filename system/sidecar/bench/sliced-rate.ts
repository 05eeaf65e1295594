/**
 * Interleaved fixed-rate load for `bench:hop`: one k6 run (sliced-rate.k6.js) sends RATE requests/s to
 * each target in turn, a slice of `sliceMs` each, so all targets are measured in the same seconds of
 * the host — as `bench:sidecar`'s sliced load does at saturation. Run one after another, a target's 8-s
 * run and the next one's saw different seconds of a shared host, and at 2,000 requests/s a round's
 * added p50 (a difference of two such runs) moved by tens of µs with them.
 *
 * The CPU of each target is read on the same wall clock at every slice boundary (schedstat, by pid) and
 * only its own slices count: a target idle while the others are loaded costs nothing here, whatever
 * its runtime does when idle.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findK6 } from '../../../runner/engines/k6.js';

const K6_SCRIPT = fileURLToPath(new URL('./sliced-rate.k6.js', import.meta.url));

export interface SlicedTarget {
  /** k6 tag value: letters, digits, '-' and '_'. */
  name: string;
  url: string;
  /** The CPU seconds the target's processes have used so far (null: not readable, no CPU figure). */
  cpuSeconds?: () => Promise<number | null>;
}

export interface SlicedTargetResult {
  p50Us: number;
  p99Us: number;
  /** Requests of the measured phase. */
  requests: number;
  /** Requests of the warm-up and the measured phase. */
  allRequests: number;
  failedRate: number;
  /** CPU seconds the target used in its own slices, warm-up included (null when not readable). */
  cpuSeconds: number | null;
}

export interface SlicedRateResult {
  byTarget: Map<string, SlicedTargetResult>;
  /** Iterations k6 could not start on schedule in the measured phase (no target carries them). */
  dropped: number;
  allDropped: number;
  /** Slice boundaries whose CPU reading came a whole slice late: their CPU went to no target. */
  lateReadings: number;
  /** The slice clock's origin (epoch ms): a request sent at t went to target floor((t − epochMs) / sliceMs) mod N. */
  epochMs: number;
}

export interface SlicedRateOptions {
  targets: readonly SlicedTarget[];
  body: string;
  rateRps: number;
  /** Measured seconds per target (the run measures this × the number of targets). */
  durationS: number;
  /** Warm-up seconds per target, before the measured phase. */
  warmupS: number;
  sliceMs: number;
}

const NAME = /^[A-Za-z0-9_-]+$/;

/** Runs the interleaved load and reads each target's CPU in its own slices. Throws when k6 is missing or fails. */
export async function k6SlicedRate(o: SlicedRateOptions): Promise<SlicedRateResult> {
  const bin = await findK6();
  if (!bin) throw new Error('k6 not found: put k6 on PATH or set K6_BIN (.ci/run builds it with go install)');
  if (o.targets.length === 0) throw new Error('k6SlicedRate needs at least one target');
  for (const t of o.targets) if (!NAME.test(t.name)) throw new Error(`target name '${t.name}' is not a plain k6 tag value`);
  if (new Set(o.targets.map((t) => t.name)).size !== o.targets.length) throw new Error('target names must differ');
  const n = o.targets.length;
  const epochMs = Date.now();
  const env = {
    ...process.env,
    TARGETS: JSON.stringify(o.targets.map((t) => ({ name: t.name, url: t.url }))),
    BODY: o.body,
    RATE: String(o.rateRps),
    SLICE_MS: String(o.sliceMs),
    EPOCH_MS: String(epochMs),
    DURATION: String(o.durationS * n),
    WARMUP: String(o.warmupS * n),
    K6_NO_USAGE_REPORT: 'true',
  };
  const child = spawn(bin, ['run', '--quiet', '--no-thresholds', K6_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-3000)));
  let exited = false;
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', (e) => {
      exited = true; // the sampler stops too
      reject(e);
    });
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    });
  });

  // CPU by slice: at each boundary every target's clock is read; the interval just ended is its owner's.
  const cpu: (number | null)[] = o.targets.map((t) => (t.cpuSeconds ? 0 : null));
  const readAll = () => Promise.all(o.targets.map((t) => t.cpuSeconds?.() ?? Promise.resolve(null)));
  let lateReadings = 0;
  const sampler = (async () => {
    let k = Math.floor((Date.now() - epochMs) / o.sliceMs);
    let prev = await readAll();
    while (!exited) {
      await sleep(Math.max(0, epochMs + (k + 1) * o.sliceMs - Date.now()));
      const now = await readAll();
      const readAt = Date.now();
      const owner = k % n;
      // A reading taken within the next slice closes slice k; one taken later spans other targets' slices.
      if (readAt < epochMs + (k + 2) * o.sliceMs) {
        const a = prev[owner];
        const b = now[owner];
        cpu[owner] = a == null || b == null || cpu[owner] === null ? null : cpu[owner]! + (b - a);
      } else {
        lateReadings++;
      }
      prev = now;
      k = Math.floor((readAt - epochMs) / o.sliceMs);
    }
  })();

  const code = await exit;
  await sampler;
  const line = out.split('\n').find((l) => l.startsWith('{"sliced"'));
  if (code !== 0 || !line) throw new Error(`k6 exited with ${code}: ${err.trim() || out.trim()}`);
  const r = JSON.parse(line) as {
    sliced: Record<string, { p50Ms: number | null; p99Ms: number | null; requests: number; allRequests: number; failedRate: number }>;
    dropped: number;
    allDropped: number;
  };
  const byTarget = new Map<string, SlicedTargetResult>();
  o.targets.forEach((t, i) => {
    const s = r.sliced[t.name]!;
    if (s.p50Ms === null || s.p99Ms === null) throw new Error(`k6 measured no request to ${t.name} (${t.url})`);
    byTarget.set(t.name, {
      p50Us: s.p50Ms * 1000,
      p99Us: s.p99Ms * 1000,
      requests: s.requests,
      allRequests: s.allRequests,
      failedRate: s.failedRate,
      cpuSeconds: cpu[i]!,
    });
  });
  return { byTarget, dropped: r.dropped, allDropped: r.allDropped, lateReadings, epochMs };
}
