import { mean } from 'simple-statistics';
import type { Histogram } from 'hdr-histogram-js';
import { mergeHistograms } from '../../results/hdr.js';
import { bootstrapMedianCI, mulberry32 } from '../../results/stats/index.js';
import type { ReplicationRecord, RunRecord } from '../../results/schema.js';
import type { ReplicationScenario } from '../../scenarios/scenario.js';
import { requestBody } from '../../scenarios/scenario.js';
import type { Platform } from '../platforms/platform.js';
import type { Engine } from '../engines/types.js';
import { shuffled } from './latin-square.js';
import { toRunRecord } from './run-record.js';
import type { ProgressSink } from './types.js';

export interface ReplicationOptions {
  scenario: ReplicationScenario;
  quick: boolean;
  engine: Engine;
  platform: Platform;
  progress: ProgressSink;
  seed: number;
  signal?: AbortSignal;
}

/** The pair the replication runs on: the published design had one client and one server. */
const PAIR = 1;

/**
 * Runs the published design (closed loop, `workers` connections, fixed request counts, auth on vs
 * off, `repetitions` times; on/off order shuffled per repetition with the seed) and reports what
 * the paper reported (relative difference of means) beside what it hid: quantiles, and the
 * difference in absolute µs with a CI over repetitions, for the light and the heavy query.
 */
export async function runReplication(o: ReplicationOptions): Promise<{ runs: RunRecord[]; records: ReplicationRecord[] }> {
  const { scenario: s, engine, platform, progress } = o;
  const profile = o.quick ? s.quick : s.full;
  const rand = mulberry32(o.seed ^ 0x5eed);
  const runs: RunRecord[] = [];
  const records: ReplicationRecord[] = [];
  const label = { on: s.authOn, off: s.authOff } as const;
  const signal = o.signal ? { signal: o.signal } : {};
  for (const q of profile.queries) {
    progress.phase(`${s.name} ${q.label}`);
    const requests = [{ body: requestBody(q.request), weight: 1 }];
    const base = { url: '', requests, connections: profile.workers, rateRps: null, durationS: 0, warmupS: 0, ...signal };
    // Discarded warm-up in each mode (connections, JIT, the verified-token cache).
    for (const mode of [label.off, label.on]) {
      await platform.setPairMode(PAIR, mode);
      if (q.warmupRequests > 0) await engine.run({ ...base, url: platform.targetUrl(PAIR, mode), requestCount: q.warmupRequests });
    }
    const hists: Record<'on' | 'off', Histogram[]> = { on: [], off: [] };
    const perRep: Record<'on' | 'off', { mean: number[]; p50: number[] }> = { on: { mean: [], p50: [] }, off: { mean: [], p50: [] } };
    for (let rep = 1; rep <= profile.repetitions; rep++) {
      progress.trial(rep, profile.repetitions);
      for (const auth of shuffled(['on', 'off'] as const, rand)) {
        o.signal?.throwIfAborted();
        const mode = label[auth];
        await platform.setPairMode(PAIR, mode);
        const r = await engine.run({ ...base, url: platform.targetUrl(PAIR, mode), requestCount: q.requests });
        const record = toRunRecord(
          {
            scenario: `${s.name}-${q.label}`,
            mode,
            pair: PAIR,
            trial: rep,
            engine: engine.name,
            rate: null,
            connections: profile.workers,
            durationS: Math.round(r.measuredS * 1000) / 1000,
            warmupS: 0,
          },
          r,
        );
        runs.push(record);
        hists[auth].push(r.latency);
        perRep[auth].mean.push(record.latencyUs.mean);
        perRep[auth].p50.push(record.latencyUs.p50);
      }
    }
    const pooled = { on: mergeHistograms(hists.on), off: mergeHistograms(hists.off) };
    const byAuth = {} as ReplicationRecord['byAuth'];
    for (const auth of ['on', 'off'] as const) {
      const h = pooled[auth];
      byAuth[auth] = {
        meanUs: Math.round(h.mean),
        p50Us: Math.round(h.getValueAtPercentile(50)),
        p99Us: Math.round(h.getValueAtPercentile(99)),
        perRepMeanUs: perRep[auth].mean,
        perRepP50Us: perRep[auth].p50,
      };
    }
    const paired = (k: 'mean' | 'p50'): number[] => perRep.on[k].map((v, i) => v - (perRep.off[k][i] as number));
    const ci = (values: number[]) => bootstrapMedianCI(values, { seed: o.seed, resamples: 10_000, level: 0.95 });
    const meanCi = ci(paired('mean'));
    const p50Ci = ci(paired('p50'));
    records.push({
      query: q.label,
      requests: q.requests,
      repetitions: profile.repetitions,
      workers: profile.workers,
      byAuth,
      meanDeltaUs: Math.round(meanCi.estimate),
      meanDeltaCi95Us: [Math.floor(meanCi.lo), Math.ceil(meanCi.hi)],
      p50DeltaUs: Math.round(p50Ci.estimate),
      p50DeltaCi95Us: [Math.floor(p50Ci.lo), Math.ceil(p50Ci.hi)],
      // As the published study computed it: pooled means, relative.
      meanRelative: Math.round(((mean(perRep.on.mean) - mean(perRep.off.mean)) / mean(perRep.off.mean)) * 10_000) / 10_000,
    });
  }
  return { runs, records };
}
