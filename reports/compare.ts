import { median } from 'simple-statistics';
import { formatCiUs, formatDeltaUs, formatP, formatPct, formatUs } from './format.js';
import { mergedByScenarioMode, modeOrder, scenarioOrder } from './model.js';
import { mdTable } from './markdown.js';
import type { Results } from '../results/schema.js';
import { RUN_MODES, type RunMode } from '../system/protocol/modes.js';
import { bootstrapMedianDiffCI, isSignificantDifference, rankSumTest } from '../results/stats/index.js';

export type CompareStat = 'p50' | 'p99';

export interface CompareOptions {
  /**
   * A significant slowdown is a regression only if even the low end of its 95% CI is at least this
   * many percent of the base (so run-to-run drift between hosts does not fail CI); default 5.
   */
  thresholdPct?: number;
  /** ...and that low end is at least this many µs; default 0. */
  thresholdUs?: number;
  /** Per-run statistics to compare; default ['p50', 'p99']. */
  stats?: CompareStat[];
  /**
   * Compare each mode's cost over this mode instead of absolute latency: per trial, the mode's run minus
   * the same trial's run of `relativeTo` (interleaved trials run them side by side), so a host that is
   * slower or busier as a whole — the usual drift between two CI runs — cancels out, and what is gated
   * is the auth (or path) overhead. The percentage threshold is then of the base's `relativeTo` latency.
   */
  relativeTo?: string;
  /** Bootstrap seed (results are deterministic for a seed); default 1. */
  seed?: number;
  /** Bootstrap resamples; default 10 000. */
  resamples?: number;
}

export type CompareVerdict =
  | 'improved'
  | 'regressed'
  | 'no significant difference'
  | 'too few runs'
  | 'only in base'
  | 'only in new'
  /** The new study ran this scenario and mode in enough runs, but too few of them were valid to judge. */
  | 'not measured in new';

/** One scenario × mode × statistic of two studies. Latencies in µs. */
export interface CompareRow {
  scenario: string;
  mode: string;
  stat: CompareStat;
  /** Headline quantile from the merged histogram of each study's valid runs (null when absent). */
  baseUs: number | null;
  newUs: number | null;
  /** median(new per-run stat) − median(base per-run stat), with a bootstrap CI resampling runs. */
  deltaUs: number;
  ci95Us: [number, number];
  /** deltaUs as a fraction of the base's median per-run statistic. */
  deltaRelative: number;
  /** Mann–Whitney two-sided p over per-run statistics. */
  pValue: number;
  nBase: number;
  nNew: number;
  verdict: CompareVerdict;
  /** A significant slowdown whose CI low end is beyond both thresholds: what CI should fail on. */
  regression: boolean;
  /**
   * The base could judge this row but the new study, which ran it, has too few valid runs (a host so
   * busy the load generator fell behind, a mode that failed): a gate must not pass what it could not
   * measure, so CI fails on this too.
   */
  unmeasured: boolean;
}

/** Runs per side below which no verdict is given: with 3 v 3 the smallest possible rank-test p is 0.1. */
const MIN_RUNS = 3;

/**
 * True when `mode` comes before `reference` in the chain direct → off → observe → enforce: its
 * overhead is then the reference's over it (off over direct is the sidecar path's cost), so that a
 * larger value is a costlier system for every row of the gate.
 */
export function precedes(mode: string, reference: string): boolean {
  const [a, b] = [RUN_MODES.indexOf(mode as RunMode), RUN_MODES.indexOf(reference as RunMode)];
  return a >= 0 && b >= 0 && a < b;
}

function perRun(results: Results, scenario: string, mode: string, stat: CompareStat, relativeTo?: string): number[] {
  const runs = results.runs.filter((r) => r.valid && r.scenario === scenario);
  const of = (m: string) => runs.filter((r) => r.mode === m);
  if (relativeTo === undefined) return of(mode).map((r) => r.latencyUs[stat]);
  const ref = new Map(of(relativeTo).map((r) => [r.trial, r.latencyUs[stat]]));
  const sign = precedes(mode, relativeTo) ? -1 : 1;
  return of(mode).flatMap((r) => {
    const v = ref.get(r.trial);
    return v === undefined ? [] : [sign * (r.latencyUs[stat] - v)];
  });
}

/**
 * Differences between two studies per scenario × mode × statistic. Per-run statistics are the unit:
 * a bootstrap CI of the difference of medians (resampling each study's runs) and a rank-sum p; a
 * difference is significant when the CI excludes zero and p < 0.05. The headline base/new values
 * come from merged histograms (percentiles are never averaged).
 */
export function compareResults(base: Results, next: Results, opts: CompareOptions = {}): CompareRow[] {
  const thresholdPct = opts.thresholdPct ?? 5;
  const thresholdUs = opts.thresholdUs ?? 0;
  const stats = opts.stats ?? ['p50', 'p99'];
  const mergedBase = mergedByScenarioMode(base.runs);
  const mergedNew = mergedByScenarioMode(next.runs);
  const scenarios = [...new Set([...scenarioOrder(base), ...scenarioOrder(next)])];
  const rows: CompareRow[] = [];
  for (const scenario of scenarios) {
    const modes = modeOrder([...base.runs, ...next.runs].filter((r) => r.scenario === scenario).map((r) => r.mode));
    for (const mode of modes) {
      if (mode === opts.relativeTo) continue;
      const key = `${scenario}\u0000${mode}`;
      const hb = mergedBase.get(key);
      const hn = mergedNew.get(key);
      for (const stat of stats) {
        const pct = stat === 'p50' ? 50 : 99;
        const b = perRun(base, scenario, mode, stat, opts.relativeTo);
        const n = perRun(next, scenario, mode, stat, opts.relativeTo);
        // What a percentage is of: the base's own per-run statistic, or (relative) the base's reference mode's.
        const scale = opts.relativeTo === undefined ? b : perRun(base, scenario, opts.relativeTo, stat);
        const row: CompareRow = {
          scenario,
          mode,
          stat,
          baseUs:
            opts.relativeTo !== undefined
              ? b.length
                ? Math.round(median(b))
                : null
              : hb && hb.totalCount > 0
                ? Math.round(hb.getValueAtPercentile(pct))
                : null,
          newUs:
            opts.relativeTo !== undefined
              ? n.length
                ? Math.round(median(n))
                : null
              : hn && hn.totalCount > 0
                ? Math.round(hn.getValueAtPercentile(pct))
                : null,
          deltaUs: Number.NaN,
          ci95Us: [Number.NaN, Number.NaN],
          deltaRelative: Number.NaN,
          pValue: Number.NaN,
          nBase: b.length,
          nNew: n.length,
          verdict: 'too few runs',
          regression: false,
          unmeasured: false,
        };
        // Ran often enough to be judged, but too many of those runs were invalid (a study with fewer
        // trials than that is only "too few runs", as before).
        const ranInNew = next.runs.filter((r) => r.scenario === scenario && r.mode === mode).length;
        if (b.length >= MIN_RUNS && n.length < MIN_RUNS && ranInNew >= MIN_RUNS) {
          row.verdict = 'not measured in new';
          row.unmeasured = true;
          rows.push(row);
          continue;
        }
        if (b.length === 0 || n.length === 0) {
          row.verdict = b.length === 0 ? 'only in new' : 'only in base';
          rows.push(row);
          continue;
        }
        const ci = bootstrapMedianDiffCI(b, n, { seed: opts.seed ?? 1, ...(opts.resamples ? { resamples: opts.resamples } : {}) });
        row.deltaUs = ci.estimate;
        row.ci95Us = [ci.lo, ci.hi];
        row.deltaRelative = scale.length ? ci.estimate / median(scale) : Number.NaN;
        row.pValue = rankSumTest(b, n).pValue;
        if (b.length >= MIN_RUNS && n.length >= MIN_RUNS) {
          const significant = isSignificantDifference(ci.lo, ci.hi, row.pValue);
          row.verdict = !significant ? 'no significant difference' : ci.estimate > 0 ? 'regressed' : 'improved';
          // Judged on the CI's low end: "at least this much slower, with 95% confidence".
          row.regression =
            row.verdict === 'regressed' && scale.length > 0 && ci.lo >= thresholdUs && (ci.lo / median(scale)) * 100 >= thresholdPct;
        }
        rows.push(row);
      }
    }
  }
  return rows;
}

/** A scenario and statistic whose every mode moved significantly in one direction between two studies. */
export interface MovedTogether {
  scenario: string;
  stat: CompareStat;
  direction: 'regressed' | 'improved';
}

/**
 * The scenarios and statistics of an absolute comparison where every mode moved significantly the same
 * way, direct (no sidecar, no auth) among them: the mark of a host faster or slower as a whole between
 * the two studies, not of auth or the sidecar (with off but no direct moving, the sidecar path could be
 * the cause, so that is not named). Two quick studies of the same code minutes apart on a busy host
 * read light p50 +675 to +1,240 µs in every mode; relative to off, no difference.
 */
export function movedTogether(rows: readonly CompareRow[]): MovedTogether[] {
  const groups = Map.groupBy(rows, (r) => `${r.scenario}\u0000${r.stat}`);
  const out: MovedTogether[] = [];
  for (const g of groups.values()) {
    const direction = g[0]!.verdict;
    if (g.length < 2 || (direction !== 'regressed' && direction !== 'improved')) continue;
    if (!g.every((r) => r.verdict === direction) || !g.some((r) => r.mode === 'direct')) continue;
    out.push({ scenario: g[0]!.scenario, stat: g[0]!.stat, direction });
  }
  return out;
}

/**
 * What the two studies ran on or with that differs beyond the code: platform, load engine, data plane,
 * design, host, runtime, calibration, A/A. A difference in the table may come from one of these rather
 * than from a change; `authlab compare` names them below its table and verdict. Empty when the set-ups match.
 */
export function setupDifferences(base: Results, next: Results): string[] {
  const a = base.study;
  const b = next.study;
  const dataPlane = (x: Results['study']) => (x.dataPlane === 'go' ? 'Go data plane' : 'Node sidecar');
  const host = (x: Results['study']) => `${x.env.cpus} CPUs, ${x.env.cpuModel}`;
  const fields: [string, (x: Results['study']) => string][] = [
    ['platform', (x) => x.platform],
    ['load engine', (x) => (x.k6Runners ? `${x.engine} (${x.k6Runners} pods in the cluster)` : x.engine)],
    ['outbound calls', dataPlane],
    ['design', (x) => x.design],
    ['host', host],
    ['Node', (x) => x.env.node],
    ['Kubernetes', (x) => x.env.kubernetes ?? 'none'],
    ['calibration', (x) => (x.calibrateUs === undefined ? 'none' : `${x.calibrateUs} µs in enforce`)],
    ['A/A', (x) => (x.aa ? 'yes' : 'no')],
  ];
  return fields.filter(([, f]) => f(a) !== f(b)).map(([name, f]) => `${name} ${f(a)} → ${f(b)}`);
}

function verdictText(r: CompareRow): string {
  if (r.regression) return 'REGRESSED (beyond threshold)';
  if (r.verdict === 'regressed') return 'regressed (not clearly beyond threshold)';
  return r.verdict;
}

/**
 * The comparison as a Markdown table (readable as-is in a terminal), followed by one line saying
 * whether CI should fail.
 */
export function formatCompare(
  rows: readonly CompareRow[],
  opts: Pick<CompareOptions, 'thresholdPct' | 'thresholdUs' | 'relativeTo'> = {},
): string {
  const significant = (r: CompareRow): boolean => r.verdict === 'regressed' || r.verdict === 'improved';
  const table = mdTable(
    ['Scenario', 'Mode', 'Stat', 'Base', 'New', 'Δ', 'Δ %', '95% CI', 'p', 'Runs', 'Verdict'],
    rows.map((r) => [
      r.scenario,
      r.mode,
      r.stat,
      r.baseUs === null ? '—' : formatUs(r.baseUs),
      r.newUs === null ? '—' : formatUs(r.newUs),
      significant(r) ? formatDeltaUs(r.deltaUs) : Number.isNaN(r.deltaUs) ? '—' : 'n.s.',
      significant(r) ? formatPct(r.deltaRelative) : '',
      Number.isNaN(r.ci95Us[0]) ? '—' : formatCiUs(r.ci95Us[0], r.ci95Us[1]),
      formatP(r.pValue),
      `${r.nBase} → ${r.nNew}`,
      verdictText(r),
    ]),
    [false, false, false, true, true, true, true, true, true, true, false],
  );
  const regressions = rows.filter((r) => r.regression);
  const unmeasured = rows.filter((r) => r.unmeasured);
  const limits = `threshold (CI low end ≥ ${opts.thresholdPct ?? 5}% and ≥ ${opts.thresholdUs ?? 0} µs)`;
  let tail =
    regressions.length === 0
      ? `No significant regression beyond the ${limits}.`
      : `${regressions.length} significant regression${regressions.length > 1 ? 's' : ''} beyond the ${limits}: ` +
        regressions.map((r) => `${r.scenario}/${r.mode} ${r.stat} ${formatDeltaUs(r.deltaUs)}`).join(', ') +
        '.';
  if (unmeasured.length > 0) {
    tail +=
      `\nNot measured: ${[...new Set(unmeasured.map((r) => `${r.scenario}/${r.mode}`))].join(', ')} ran in the new study with fewer than ` +
      `${MIN_RUNS} valid runs (see each run's invalidReason in its results.json); the gate fails rather than pass what it could not measure.`;
  }
  const together = opts.relativeTo === undefined ? movedTogether(rows) : [];
  if (together.length > 0) {
    tail +=
      `\nEvery mode moved the same way, direct (no sidecar) too (` +
      together.map((t) => `${t.scenario} ${t.stat} ${t.direction === 'regressed' ? 'slower' : 'faster'}`).join(', ') +
      `): that is the host (busier, slower, another machine) between the two studies, not auth or the sidecar. ` +
      `Compare with --relative-to off, which takes each trial's own off run away and cancels it.`;
  }
  const ref = opts.relativeTo;
  const before = ref === undefined ? [] : [...new Set(rows.map((r) => r.mode).filter((m) => precedes(m, ref)))];
  const legend =
    ref === undefined
      ? 'Base/New: merged-histogram quantiles. Δ: difference of per-run medians; CI: bootstrap over runs; p: Mann–Whitney.'
      : `Relative to ${ref}: each value is a mode's run minus the same trial's ${ref} run (its overhead)` +
        (before.length > 0
          ? `, and for a mode before it in the chain (${before.join(', ')}) the ${ref} run minus the mode's (the cost of what ${ref} adds), so larger is costlier in every row`
          : '') +
        `; Base/New: median of those per-trial overheads; Δ %: of the base's ${ref} latency. CI: bootstrap over runs; p: Mann–Whitney.`;
  return `${table}\n\n${legend}\n${tail}\n`;
}
