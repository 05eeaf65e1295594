import { LIVE_BUCKETS_SECONDS } from '../../system/protocol/metrics.js';
import type { LiveSeries, StudyState } from './series.js';

/** Per mode, over the last window: what the live page draws. */
export interface ModeFigures {
  rps: number;
  errorsPerS: number;
  /** Null when no 2xx response arrived in the window. */
  p50Us: number | null;
  p99Us: number | null;
}

/** One SSE message of the live page (`/events`), once a second. */
export interface LiveSnapshot {
  /** Unix ms. */
  t: number;
  study: StudyState;
  /** Modes of the current scenario (the last scenario that had load when between scenarios). */
  scenario: string | null;
  modes: Record<string, ModeFigures>;
  /** Token-exchange responses/s of the storm's IdP, per refresh policy. */
  storm: Record<string, number>;
}

/**
 * `histogram_quantile` over per-bucket counts (the last slot +Inf), linear inside a bucket as Prometheus
 * does, so the page and a PromQL panel agree on the same series. Seconds; null without observations.
 */
export function bucketQuantile(q: number, counts: ArrayLike<number>): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return null;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (cum + c >= rank && c > 0) {
      const upper = LIVE_BUCKETS_SECONDS[i];
      // Like Prometheus: the +Inf bucket answers with the highest finite bound.
      if (upper === undefined) return LIVE_BUCKETS_SECONDS[LIVE_BUCKETS_SECONDS.length - 1]!;
      const lower = i === 0 ? 0 : LIVE_BUCKETS_SECONDS[i - 1]!;
      return lower + (upper - lower) * ((rank - cum) / c);
    }
    cum += c;
  }
  return null;
}

/**
 * Turns the live series into one-second figures by differencing cumulative state between calls: rates
 * over the time since the previous call, quantiles over the last `windowS` seconds of bucket counts.
 */
export function createSnapshotter(live: LiveSeries, opts: { windowS?: number; now?: () => number } = {}): () => LiveSnapshot {
  const windowS = opts.windowS ?? 2;
  const now = opts.now ?? Date.now;
  let prev: { t: number; ok: Map<string, number>; err: Map<string, number>; storm: Record<string, number> } | null = null;
  // Snapshots of per-bucket counts, newest last, to difference over the window.
  const history: { t: number; counts: Map<string, Float64Array> }[] = [];
  let lastScenario: string | null = null;

  return () => {
    const t = now();
    const study = live.study();
    const ok = new Map<string, number>();
    const err = new Map<string, number>();
    for (const c of live.responseCells()) {
      const k = `${c.labels.scenario}|${c.labels.mode}`;
      const { ok: n, ...errors } = c.byOutcome;
      ok.set(k, (ok.get(k) ?? 0) + n);
      err.set(k, (err.get(k) ?? 0) + Object.values(errors).reduce((a, b) => a + b, 0));
    }
    const counts = new Map<string, Float64Array>();
    for (const c of live.latencyCells()) counts.set(`${c.labels.scenario}|${c.labels.mode}`, Float64Array.from(c.counts));
    history.push({ t, counts });
    while (history.length > 1 && t - history[0]!.t > windowS * 1000 + 500) history.shift();
    const storm = live.stormCounts();

    // The scenario whose numbers are moving now; between scenarios the last one stays on screen.
    const scenario = study.scenario ?? lastScenario;
    if (study.scenario && [...ok.keys()].some((k) => k.startsWith(`${study.scenario}|`))) lastScenario = study.scenario;
    const modes: Record<string, ModeFigures> = {};
    const dtS = prev ? Math.max(0.001, (t - prev.t) / 1000) : 1;
    const oldest = history[0]!;
    for (const [k, n] of ok) {
      const [sc, mode] = k.split('|') as [string, string];
      if (sc !== scenario) continue;
      const cur = counts.get(k);
      const old = oldest.counts.get(k);
      const window = cur ? cur.map((v, i) => v - (old && old !== cur ? old[i]! : 0)) : new Float64Array();
      const p50 = bucketQuantile(0.5, window);
      const p99 = bucketQuantile(0.99, window);
      modes[mode] = {
        rps: prev ? Math.round((n - (prev.ok.get(k) ?? 0)) / dtS) : 0,
        errorsPerS: prev ? Math.round((err.get(k)! - (prev.err.get(k) ?? 0)) / dtS) : 0,
        p50Us: p50 === null ? null : Math.round(p50 * 1e6),
        p99Us: p99 === null ? null : Math.round(p99 * 1e6),
      };
    }
    const stormRps: Record<string, number> = {};
    for (const [policy, n] of Object.entries(storm)) stormRps[policy] = prev ? Math.round((n - (prev.storm[policy] ?? 0)) / dtS) : 0;
    prev = { t, ok, err, storm };
    return { t, study, scenario, modes, storm: stormRps };
  };
}
