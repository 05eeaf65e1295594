import { formatPct, formatRps, formatUs, esc } from '../format.js';
import { comparisonCells, comparisonVerdict, isSignificant } from '../verdicts.js';
import { trialsForFamily } from '../../results/stats/index.js';
import type { ScenarioModel } from '../model.js';
import type { Comparison, PlatformName, Results } from '../../results/schema.js';
import { forestChart, latencyOverTimeChart, serverTimingChart, spectrumChart, throughputOverTimeChart } from './charts.js';
import type { ChartSpec } from './charts.js';
import { figure, keyValues, table } from './tables.js';

/** A stable HTML id fragment for a scenario name. */
export const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

function durationText(startIso: string, endIso: string): string {
  const s = (Date.parse(endIso) - Date.parse(startIso)) / 1000;
  if (!Number.isFinite(s) || s < 0) return 'unknown';
  return s >= 120 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`;
}

const PLATFORM_TEXT: Record<PlatformName, string> = {
  local: 'local (child processes on 127.0.0.1, embedded PostgreSQL)',
  kube: 'kube (a single-node Kubernetes on this host)',
  kind: 'kind (Kubernetes in Docker)',
};

/** How many tests the study's Holm family holds and how many trials one real effect needs to pass. */
function multiplicityText(results: Results): string {
  const m = results.comparisons.filter((c) => c.pAdjusted !== undefined).length + (results.estimates?.length ?? 0);
  if (m === 0 || results.comparisons.every((c) => c.pAdjusted === undefined)) return 'p-values not adjusted (older results)';
  const n = trialsForFamily(m);
  return `Holm across ${m} tests (every comparison and estimate): one real effect can pass only with ≥ ${n} trials, since the exact signed-rank p cannot go below 2/2^n and must be < 0.05/${m}`;
}

/** Host state rows (load average, steal, governor, affinity, pinning) when the study recorded them. */
function machineRows(results: Results): [string, string][] {
  const m = results.study.machine;
  if (!m) return [];
  const la = (v: readonly number[]) => v.map((x) => x.toFixed(2)).join(' / ');
  return [
    [
      'Load average',
      `${la(m.loadAvgStart)} at start, ${la(m.loadAvgEnd)} at end (1 / 5 / 15 min); highest 1-min at a run boundary ${m.loadAvg1mMax.toFixed(2)} on ${m.cores} cores${m.loadAvg1mMax > m.cores ? ' — above the core count: figures are noisy' : ''}`,
    ],
    [
      'Steal, governor',
      `${m.stealPct === null ? 'steal not readable' : `steal ${m.stealPct}% of CPU time`}; governor ${m.governor ?? 'not readable'}`,
    ],
    ['CPU affinity', `${m.affinity ?? 'not readable'}; ${m.pinning}`],
  ];
}

/** Key-findings warning when the host was busier than its cores during the study. */
export function loadWarning(results: Results): string | null {
  const m = results.study.machine;
  if (!m || m.loadAvg1mMax <= m.cores) return null;
  return `The host's load average reached ${m.loadAvg1mMax.toFixed(1)} on ${m.cores} cores during this study (other work shared the CPUs): CI widths track the load average, so expect wider intervals than on a quiet host.`;
}

export function environmentSection(results: Results): string {
  const { study } = results;
  const design =
    study.design === 'interleaved'
      ? `interleaved: each trial runs every mode at once on ${study.pairs} isolated pairs; the mode→pair assignment is a rotated Latin square, shuffled across trials${study.seed !== undefined ? ` (seed ${study.seed})` : ''}, so pair effects and drift cancel within a trial`
      : `sequential: modes run one after another on one pair, shuffled and repeated${study.seed !== undefined ? ` (seed ${study.seed})` : ''}; drift is not cancelled, so read differences with more caution`;
  const git = study.git.commit
    ? `${study.git.commit.slice(0, 12)}${study.git.dirty ? ' (uncommitted changes)' : ''}`
    : 'not a git checkout';
  return `<section id="environment"><h2>Environment and design</h2>
<p>What produced these numbers, so you can judge them. Load generator and system under test share this host's
${study.env.cpus} CPUs, which inflates absolute latencies; differences between modes measured within a trial are far
more robust than the absolute values.</p>
${keyValues([
  ['Study', study.id],
  ['When', `${study.startedAt} → ${study.finishedAt} (${durationText(study.startedAt, study.finishedAt)})`],
  ['Platform', PLATFORM_TEXT[study.platform]],
  ['Load engine', study.engine],
  [
    'Data plane',
    study.dataPlane === 'go'
      ? "outbound calls through each sidecar's Go data plane (--data-plane go); inbound checks in the Node sidecar"
      : 'the Node sidecar serves inbound and outbound calls',
  ],
  ['Design', design],
  ['Trials', `${study.trials}${study.quick ? ' (--quick: short runs, wide CIs)' : ''}`],
  ['Multiplicity', multiplicityText(results)],
  ['Scenarios', (study.scenarios ?? [...new Set(results.runs.map((r) => r.scenario))]).join(', ')],
  ['Code', git],
  ['Host', `${study.env.cpus} CPUs, ${study.env.cpuModel}, ${study.env.memGiB} GiB RAM`],
  ['Runtime', `Node ${study.env.node} on ${study.env.os}${study.env.kubernetes ? `, Kubernetes ${study.env.kubernetes}` : ''}`],
  ...machineRows(results),
])}</section>`;
}

export function floorSection(results: Results): string {
  const floors = results.harnessFloor ?? [];
  if (floors.length === 0) {
    return `<section id="floor"><h2>Harness floor</h2><p class="muted">Not measured in this study (run a full study to record it).</p></section>`;
  }
  return `<section id="floor"><h2>Harness floor</h2>
<p>What the load engine itself costs against a null endpoint on this host. Every latency below includes roughly this
much; differences between modes do not, because the floor cancels.</p>
${table(
  [
    { head: 'Engine' },
    { head: 'Connections', num: true },
    { head: 'Duration', num: true },
    { head: 'p50', num: true },
    { head: 'p99', num: true },
    { head: 'Max throughput', num: true },
  ],
  floors.map((f) => [f.engine, String(f.connections), `${f.durationS} s`, formatUs(f.p50Us), formatUs(f.p99Us), formatRps(f.maxRps)]),
)}</section>`;
}

export function verdictHtml(c: Comparison): string {
  const cls = !isSignificant(c) ? 'ns' : c.deltaUs > 0 ? 'worse' : 'better';
  return `<span class="verdict ${cls}">${esc(comparisonVerdict(c))}</span>`;
}

function comparisonsTable(cs: readonly Comparison[]): string {
  if (cs.length === 0) return '<p class="muted">No comparisons recorded for this scenario.</p>';
  return table(
    [
      { head: 'Comparison' },
      { head: 'Stat' },
      { head: 'Δ (median over trials)', num: true, title: 'Median over trials of the per-trial difference of the per-run statistic' },
      { head: '95% CI', num: true, title: 'Percentile bootstrap over trials' },
      { head: 'p', num: true, title: 'Wilcoxon signed-rank, two-sided, unadjusted' },
      {
        head: 'p (Holm)',
        num: true,
        title: "Holm-adjusted across the study's whole family of comparisons (significant: CI excludes 0 and adjusted p < 0.05)",
      },
      { head: 'Trials', num: true },
      { head: 'Verdict' },
    ],
    cs.map((c) => [...comparisonCells(c), { html: verdictHtml(c) }]),
  );
}

function quantileTable(s: ScenarioModel): string {
  return table(
    [
      { head: 'Mode' },
      { head: 'Runs', num: true },
      { head: 'Requests', num: true, title: 'Requests recorded in the merged histogram of valid runs' },
      { head: 'p50', num: true },
      { head: 'p90', num: true },
      { head: 'p99', num: true },
      { head: 'p99.9', num: true },
      { head: 'max', num: true },
      { head: 'mean', num: true },
      { head: 'Throughput', num: true, title: 'Median over runs of successful requests/s after warm-up' },
      { head: 'Errors', num: true },
    ],
    s.modes.map((m) =>
      m.validRuns === 0
        ? [m.mode, { html: `0 <span class="flag-inline">+${m.invalidRuns} invalid</span>` }, ...Array<string>(9).fill('—')]
        : [
            m.mode,
            m.invalidRuns > 0
              ? { html: `${m.validRuns} <span class="flag-inline" title="invalid runs are excluded">+${m.invalidRuns} invalid</span>` }
              : String(m.validRuns),
            m.latency.count.toLocaleString('en-US'),
            formatUs(m.latency.p50),
            formatUs(m.latency.p90),
            formatUs(m.latency.p99),
            formatUs(m.latency.p999),
            formatUs(m.latency.max),
            formatUs(m.latency.mean),
            formatRps(m.throughputRps),
            m.errorRate === 0
              ? '0'
              : `${formatPct(m.errorRate)} (${Object.entries(m.errors)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join(', ')})`,
          ],
    ),
    'Quantiles from the HDR histograms of all valid runs merged, never averaged; throughput is the median over runs.',
  );
}

/** One scenario: load shape, quantile table, comparisons and its four charts (specs appended to `charts`). */
export function scenarioSection(s: ScenarioModel, charts: ChartSpec[]): string {
  const id = slug(s.scenario);
  const load =
    s.load.model === 'open'
      ? `open loop at ${s.load.rate ?? '?'} req/s per pair`
      : `closed loop per pair: ${s.load.connections} connection${s.load.connections === 1 ? '' : 's'}${s.load.rate ? `, capped at ${s.load.rate} req/s` : ''}`;
  // A chart is drawn only when it has data: runs without timelines (older results, request-count
  // runs) or without Server-Timing get a sentence instead of an empty frame.
  const hasTimeline = s.modes.some((m) => m.timeline.length > 0);
  const hasStages = s.modes.some((m) => Object.keys(m.stagesP50Us).length > 0);
  const slots: [ChartSpec, string, string][] = [];
  let forest = '';
  if (s.comparisons.length > 0) {
    const rows = s.comparisons.map((c) => ({
      label: `${c.candidate} − ${c.baseline}, ${c.stat}`,
      deltaUs: c.deltaUs,
      ci: c.ci95Us,
      significant: isSignificant(c),
    }));
    const spec = forestChart(`c-${id}-forest`, rows);
    charts.push(spec);
    forest = `<div class="charts one">${figure(spec.id, 'Overheads with 95% CIs.', 'Bar: the CI; dark mark: the median difference; red = significantly slower, green = significantly faster, grey = not significant. The black line is zero.')}</div>`;
  }
  if (s.modes.some((m) => m.spectrum.length > 0)) {
    slots.push([
      spectrumChart(`c-${id}-spectrum`, s),
      'Percentile spectrum.',
      'Latency at each percentile, all modes; the x axis stretches the tail (log of 1/(1−q)), as HdrHistogram plots do.',
    ]);
  }
  if (hasStages) {
    slots.push([
      serverTimingChart(`c-${id}-stages`, s),
      'Where the time goes.',
      'Server-Timing of the sidecars (median over runs of each stage’s p50): the target’s stages, the hop to it, the caller’s own work, and what lies outside the sidecars up to the end-to-end p50. Medians of parts add up only approximately.',
    ]);
  }
  if (hasTimeline) {
    slots.push([
      latencyOverTimeChart(`c-${id}-latency`, s),
      'Latency over time.',
      'Median over runs of each second’s p50 (solid) and p99 (dashed).',
    ]);
    slots.push([throughputOverTimeChart(`c-${id}-rps`, s), 'Throughput over time.', 'Median over runs of successful requests per second.']);
  }
  charts.push(...slots.map(([spec]) => spec));
  const missing = [hasStages ? '' : 'no Server-Timing stages', hasTimeline ? '' : 'no per-interval timeline'].filter(Boolean);
  return `<section id="s-${id}"><h2>Scenario: ${esc(s.scenario)}</h2>
<p class="muted">${esc(load)}; ${s.load.durationS} s measured after ${s.load.warmupS} s warm-up per run.</p>
<h3>Latency and throughput by mode</h3>
${quantileTable(s)}
<h3>Overhead</h3>
${comparisonsTable(s.comparisons)}
${forest}
${missing.length ? `<p class="muted">These runs recorded ${esc(missing.join(' and '))}, so those charts are left out.</p>` : ''}
<div class="charts">
${slots.map(([spec, title, caption]) => figure(spec.id, title, caption)).join('\n')}
</div></section>`;
}

export function invalidSection(results: Results): string {
  const bad = results.runs.filter((r) => !r.valid);
  if (bad.length === 0) {
    return `<section id="invalid"><h2>Invalid runs</h2><p>All ${results.runs.length} runs are valid.</p></section>`;
  }
  return `<section id="invalid"><h2>Invalid runs</h2>
<p class="flag">${bad.length} of ${results.runs.length} runs were marked invalid and are excluded from every table, chart and comparison above.</p>
${table(
  [{ head: 'Run' }, { head: 'Scenario' }, { head: 'Mode' }, { head: 'Trial', num: true }, { head: 'Pair', num: true }, { head: 'Reason' }],
  bad.map((r) => [
    r.id,
    r.scenario,
    r.mode,
    String(r.trial),
    String(r.pair),
    (r.invalidReason ?? 'no reason recorded') +
      (r.invalidFor === 'latency' ? ' (left out of latency comparisons only: its in-band and CPU figures are used)' : ''),
  ]),
)}</section>`;
}
