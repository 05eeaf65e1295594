import { Registry } from 'prom-client';
import { LIVE_BUCKETS_SECONDS, LOAD_OUTCOMES, RUNNER_METRICS, type LoadOutcome } from '../../system/protocol/metrics.js';
import { estimateRemainingS } from '../progress.js';
import { customMetric, type Sample } from '../../system/runtime/custom-metric.js';

/** Called by an engine for every response it receives: time in µs and HTTP status or transport code. */
export type ResponseObserver = (latencyUs: number, status: number | string) => void;

/** One (scenario, mode) latency histogram: cumulative only when exported. */
interface LatencyCell {
  readonly labels: { scenario: string; mode: string };
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** Counts of one (scenario, mode, pair) by outcome. */
interface ResponseCell {
  readonly labels: { scenario: string; mode: string; pair: string };
  readonly byOutcome: Record<LoadOutcome, number>;
}

/** Where the study is, as the live series and the page show it. */
export interface StudyState {
  phase: string;
  scenario: string | null;
  trial: number;
  trials: number;
  /** Estimated seconds left in the scenario's trials; null before the first trial ended. */
  remainingS: number | null;
}

/** The runner's live series: written on the load loop, read by `/metrics` and the live page. */
export interface LiveSeries {
  readonly registry: Registry;
  /** A cheap per-response callback bound to one run's labels (its counters are created at 0). */
  observer(scenario: string, mode: string, pair: number): ResponseObserver;
  /** Counts one token-exchange response of the storm's IdP under `policy`. */
  stormResponse(policy: string): void;
  /** Tees the study's progress into the phase/trial series. */
  phase(name: string, scenario: string | null): void;
  trial(i: number, n: number): void;
  study(): StudyState;
  /** Latency cells (per-bucket counts) and response cells, for the live page's one-second deltas. */
  latencyCells(): readonly LatencyCell[];
  responseCells(): readonly ResponseCell[];
  stormCounts(): Readonly<Record<string, number>>;
  /** Extra samples collected at scrape time (PostgreSQL sizes); see `postgres-stats.ts`. */
  addCollector(c: (r: Registry) => void): void;
}

const BOUNDS = LIVE_BUCKETS_SECONDS;
const N = BOUNDS.length;
const LOG_STEP = 24; // buckets per decade: see LIVE_BUCKETS_SECONDS

/** Index of the bucket `seconds` falls in (`le` semantics); N is +Inf. O(1): from the log, corrected by rounding. */
export function bucketIndex(seconds: number): number {
  let i = seconds <= BOUNDS[0]! ? 0 : Math.min(N, Math.max(0, Math.ceil(LOG_STEP * Math.log10(seconds / BOUNDS[0]!))));
  while (i > 0 && seconds <= BOUNDS[i - 1]!) i--;
  while (i < N && seconds > BOUNDS[i]!) i++;
  return i;
}

function outcomeOf(status: number | string): LoadOutcome {
  if (typeof status === 'number') return status >= 200 && status < 300 ? 'ok' : status >= 500 ? 'http_5xx' : 'http_4xx';
  return status === 'timeout' ? 'timeout' : 'connection';
}

/** Creates the live series with their own prom-client Registry (not the global one). */
export function createLiveSeries(now: () => number = () => performance.now()): LiveSeries {
  const registry = new Registry();
  const latency = new Map<string, LatencyCell>();
  const responses = new Map<string, ResponseCell>();
  const storm: Record<string, number> = {};
  const state: StudyState = { phase: 'starting', scenario: null, trial: 0, trials: 0, remainingS: null };
  const trialTimes = { t0: 0, startedAt: 0 };
  // Last trial started per scenario: kept after the scenario ends, so a dashboard still shows how far it got.
  const trialsBy = new Map<string, { trial: number; trials: number }>();

  customMetric(registry, {
    name: RUNNER_METRICS.loadLatencySeconds,
    help: 'Response time of 2xx responses seen by the load generator, seconds',
    type: 'histogram',
    samples: () => {
      const out: Sample[] = [];
      for (const c of latency.values()) {
        let cum = 0;
        for (let i = 0; i < N; i++) {
          cum += c.counts[i]!;
          out.push({
            metricName: `${RUNNER_METRICS.loadLatencySeconds}_bucket`,
            labels: { ...c.labels, le: String(BOUNDS[i]) },
            value: cum,
          });
        }
        out.push({ metricName: `${RUNNER_METRICS.loadLatencySeconds}_bucket`, labels: { ...c.labels, le: '+Inf' }, value: c.count });
        out.push({ metricName: `${RUNNER_METRICS.loadLatencySeconds}_sum`, labels: c.labels, value: c.sum });
        out.push({ metricName: `${RUNNER_METRICS.loadLatencySeconds}_count`, labels: c.labels, value: c.count });
      }
      return out;
    },
  });
  customMetric(registry, {
    name: RUNNER_METRICS.loadResponsesTotal,
    help: 'Responses received by the load generator, by outcome',
    type: 'counter',
    samples: () =>
      [...responses.values()].flatMap((c) =>
        LOAD_OUTCOMES.map((outcome) => ({ labels: { ...c.labels, outcome }, value: c.byOutcome[outcome] })),
      ),
  });
  customMetric(registry, {
    name: RUNNER_METRICS.stormIdpResponsesTotal,
    help: "Token-exchange responses of the storm's IdP, per refresh policy",
    type: 'counter',
    samples: () => Object.entries(storm).map(([policy, value]) => ({ labels: { policy }, value })),
  });
  customMetric(registry, {
    name: RUNNER_METRICS.studyPhase,
    help: 'The phase in progress (value 1)',
    type: 'gauge',
    samples: () => [{ labels: { phase: state.phase }, value: 1 }],
  });
  customMetric(registry, {
    name: RUNNER_METRICS.studyTrial,
    help: 'Last trial started of each scenario (1-based)',
    type: 'gauge',
    samples: () => [...trialsBy].map(([scenario, t]) => ({ labels: { scenario }, value: t.trial })),
  });
  customMetric(registry, {
    name: RUNNER_METRICS.studyTrials,
    help: 'Trials planned for each scenario',
    type: 'gauge',
    samples: () => [...trialsBy].map(([scenario, t]) => ({ labels: { scenario }, value: t.trials })),
  });
  customMetric(registry, {
    name: RUNNER_METRICS.studyRemainingSeconds,
    help: "Estimated seconds left in the current scenario's trials",
    type: 'gauge',
    samples: () => {
      const s = study();
      return s.remainingS === null ? [] : [{ labels: {}, value: s.remainingS }];
    },
  });

  const study = (): StudyState => {
    if (state.trial < 1) return { ...state };
    const rem = estimateRemainingS(
      (trialTimes.startedAt - trialTimes.t0) / 1000,
      state.trial,
      state.trials,
      (now() - trialTimes.startedAt) / 1000,
    );
    return { ...state, remainingS: rem === undefined ? null : Math.round(rem) };
  };

  return {
    registry,
    observer(scenario, mode, pair) {
      const lk = `${scenario}|${mode}`;
      let cell = latency.get(lk);
      if (!cell) latency.set(lk, (cell = { labels: { scenario, mode }, counts: new Float64Array(N + 1), sum: 0, count: 0 }));
      const rk = `${lk}|${pair}`;
      let rc = responses.get(rk);
      if (!rc) {
        const byOutcome = Object.fromEntries(LOAD_OUTCOMES.map((o) => [o, 0])) as Record<LoadOutcome, number>;
        responses.set(rk, (rc = { labels: { scenario, mode, pair: String(pair) }, byOutcome }));
      }
      const lat = cell;
      const counts = rc.byOutcome;
      // The hot path: one comparison for the common case, a log and an array increment (see live.bench.ts).
      return (latencyUs, status) => {
        if (typeof status === 'number' && status >= 200 && status < 300) {
          counts.ok++;
          const s = latencyUs / 1e6;
          lat.counts[bucketIndex(s)]!++;
          lat.sum += s;
          lat.count++;
        } else counts[outcomeOf(status)]++;
      };
    },
    stormResponse(policy) {
      storm[policy] = (storm[policy] ?? 0) + 1;
    },
    phase(name, scenario) {
      state.phase = name;
      state.scenario = scenario;
      state.trial = 0;
      state.trials = 0;
    },
    trial(i, n) {
      const t = now();
      if (state.trial === 0 || i <= 1 || n !== state.trials) trialTimes.t0 = t;
      trialTimes.startedAt = t;
      state.trial = i;
      state.trials = n;
      if (state.scenario) trialsBy.set(state.scenario, { trial: i, trials: n });
    },
    study,
    latencyCells: () => [...latency.values()],
    responseCells: () => [...responses.values()],
    stormCounts: () => ({ ...storm }),
    addCollector(c) {
      c(registry);
    },
  };
}
