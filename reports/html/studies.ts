import { bootstrapMedianDiffCI, ciExcludesZero } from '../../results/stats/index.js';
import { esc, formatCiUs, formatDeltaUs, formatPct, formatUs } from '../format.js';
import type { ReplicationRecord, Results, TokenStormRecord } from '../../results/schema.js';
import { forestChart, stormChart, verdictColor } from './charts.js';
import type { ChartSpec } from './charts.js';
import { figure, table } from './tables.js';

/**
 * Highest IdP load after the cold start (buckets starting once every service held a token, plus one
 * bucket): what refreshes alone cost, the cold start's first refresh waves (its echo) included. NaN
 * when the series ends before that.
 */
export function steadyPeakRps(t: TokenStormRecord): number {
  const after = t.idpRpsSeries.filter(([ms]) => ms > t.timeToAllTokensMs + 1000);
  return after.length ? Math.max(...after.map(([, rps]) => rps)) : Number.NaN;
}

/** Tokens issued per second while every service fetched its first: services ÷ time to all tokens. NaN without a time. */
export function coldStartRps(t: TokenStormRecord): number {
  return t.timeToAllTokensMs > 0 ? Math.round(t.services / (t.timeToAllTokensMs / 1000)) : Number.NaN;
}

const rps = (v: number): string => (Number.isNaN(v) ? '—' : `${v.toLocaleString('en-US')} req/s`);

/**
 * The token-storm table's columns, for the HTML report and the Markdown summary. `peakIdpRps` and
 * `meanIdpRps` are the runner's steady window (after the cold start and the scenario's settling
 * lifetimes: two in a full study, none in a quick one), not the cold start, which is its own column.
 */
export const STORM_COLUMNS: readonly { head: string; num: boolean; title: string; cell: (t: TokenStormRecord) => string }[] = [
  { head: 'Refresh policy', num: false, title: 'When a service asks the IdP again', cell: (t) => t.policy },
  { head: 'Services', num: true, title: 'Token sources started at once', cell: (t) => t.services.toLocaleString('en-US') },
  { head: 'TTL', num: true, title: "The access tokens' lifetime", cell: (t) => `${t.ttlS} s` },
  {
    head: 'Issued',
    num: true,
    title: 'Tokens the IdP issued to this policy, cold start included',
    cell: (t) => t.issued.toLocaleString('en-US'),
  },
  { head: 'Failed', num: true, title: 'Exchanges that failed', cell: (t) => String(t.failed) },
  {
    head: 'Cold start',
    num: true,
    title:
      'Until every service held a token: tokens issued per second over that time (services ÷ time to all tokens), the burst a cluster-wide restart sends the IdP',
    cell: (t) => (Number.isNaN(coldStartRps(t)) ? '—' : `${rps(coldStartRps(t))} for ${formatUs(t.timeToAllTokensMs * 1000)}`),
  },
  {
    head: 'Peak after cold start',
    num: true,
    title: "Highest 1-s bucket from a second after the cold start on, its first refresh waves (the cold start's echo) included",
    cell: (t) => rps(steadyPeakRps(t)),
  },
  {
    head: 'Steady peak',
    num: true,
    title:
      "Highest 1-s bucket of the steady window: after the cold start and the scenario's settling lifetimes (two in a full study, none in a quick one)",
    cell: (t) => rps(t.peakIdpRps),
  },
  {
    head: 'Steady mean',
    num: true,
    title: 'Mean IdP requests/s over the steady window',
    cell: (t) => rps(Number(t.meanIdpRps.toPrecision(3))),
  },
];

export function stormSection(results: Results, charts: ChartSpec[]): string {
  const storms = results.tokenStorm;
  if (storms.length === 0) return '';
  const spec = stormChart('c-token-storm', storms);
  charts.push(spec);
  return `<section id="token-storm"><h2>Token storm</h2>
<p>${storms[0]!.services} services start at once and then keep their tokens fresh; each refresh policy decides when a
service asks the IdP again. Peaks are what the IdP must be sized for; a policy that bunches refreshes together
recreates the cold-start storm every token lifetime.</p>
${table(
  STORM_COLUMNS.map(({ head, num, title }) => ({ head, num, title })),
  storms.map((t) =>
    STORM_COLUMNS.map((c) => (c.head === 'Failed' && t.failed > 0 ? { html: `<span class="flag-inline">${t.failed}</span>` } : c.cell(t))),
  ),
)}
<div class="charts one">${figure(spec.id, 'IdP load over time per refresh policy.', 'Token requests per second reaching the IdP, from the end of the cold start (its rate is the Cold start column).')}</div></section>`;
}

/** "+34 µs [33, 36] µs", or "n.s. [−410, 1,100] µs" when the CI includes zero (no signed number then). */
function deltaWithCi(deltaUs: number, ci: readonly [number, number]): string {
  return `${ciExcludesZero(ci) ? formatDeltaUs(deltaUs) : 'n.s.'} ${formatCiUs(ci[0], ci[1])}`;
}

/** Per-repetition (on − off) of the mean, µs; repetitions are paired by index (same repetition, both settings). */
function perRepMeanDeltas(r: ReplicationRecord): number[] {
  const off = r.byAuth.off.perRepMeanUs;
  return r.byAuth.on.perRepMeanUs.slice(0, off.length).map((v, i) => v - off[i]!);
}

function sameCostVerdict(light: ReplicationRecord, heavy: ReplicationRecord): string {
  const dl = perRepMeanDeltas(light);
  const dh = perRepMeanDeltas(heavy);
  if (dl.length === 0 || dh.length === 0) return '';
  const diff = bootstrapMedianDiffCI(dl, dh, { seed: 1 });
  const same = diff.lo <= 0 && diff.hi >= 0;
  const cost = (r: ReplicationRecord): string =>
    ciExcludesZero(r.meanDeltaCi95Us)
      ? `${formatUs(Math.abs(r.meanDeltaUs))} ${formatCiUs(...r.meanDeltaCi95Us)}`
      : `no significant amount ${formatCiUs(...r.meanDeltaCi95Us)}`;
  const costs = `auth costs ${cost(light)} on the light query and ${cost(heavy)} on the heavy one`;
  const rel = (r: ReplicationRecord): string =>
    ciExcludesZero(r.meanDeltaCi95Us) ? formatPct(r.meanRelative) : `indistinguishable from 0% (${formatPct(r.meanRelative)}, n.s.)`;
  const pct = `yet as a percentage it is ${rel(light)} of a light request and ${rel(heavy)} of a heavy one`;
  if (!ciExcludesZero(light.meanDeltaCi95Us) && !ciExcludesZero(heavy.meanDeltaCi95Us)) {
    // Without a measurable cost on either query, "same cost, different %" would be an overclaim.
    return `<p class="callout"><strong>Not enough evidence either way.</strong> Neither query shows a significant auth cost (light ${esc(formatCiUs(...light.meanDeltaCi95Us))}, heavy ${esc(formatCiUs(...heavy.meanDeltaCi95Us))}); with ${light.repetitions} repetitions the intervals are too wide to compare the absolute costs. Run the full design (more repetitions) on a quieter host.</p>`;
  }
  return same
    ? `<p class="callout"><strong>Same absolute cost, very different percentages.</strong> In absolute terms ${esc(costs)}; the difference between the two, ${esc(formatCiUs(diff.lo, diff.hi))}, includes zero, so the data are consistent with one fixed cost per request — ${esc(pct)}. A percentage overhead describes the query as much as the auth.</p>`
    : `<p class="callout"><strong>The absolute cost differs between light and heavy.</strong> ${esc(costs)}; the difference between the two, ${esc(formatCiUs(diff.lo, diff.hi))}, excludes zero — ${esc(pct)}.</p>`;
}

export function replicationSection(results: Results, charts: ChartSpec[]): string {
  const reps = results.replication ?? [];
  if (reps.length === 0) return '';
  const first = reps[0]!;
  const light = reps.find((r) => r.query === 'light');
  const heavy = reps.find((r) => r.query === 'heavy');
  return `<section id="replication"><h2>Replication of the published mean-only study</h2>
<p>The published design: closed loop, ${first.workers} workers, auth on versus off, ${first.repetitions} repetitions of
${first.requests.toLocaleString('en-US')} requests, reported as the relative difference of means. Here the same design
is run for a light and a heavy query, and reported with quantiles and confidence intervals as well.</p>
${table(
  [
    { head: 'Query' },
    { head: 'Mean off → on', num: true },
    { head: 'Δ mean [95% CI]', num: true, title: 'Median over repetitions of (on − off) of the per-repetition mean' },
    { head: 'Relative (as published)', num: true, title: '(on − off) / off of the pooled means' },
    { head: 'p50 off → on', num: true },
    { head: 'Δ p50 [95% CI]', num: true },
    { head: 'p99 off → on', num: true },
  ],
  reps.map((r) => [
    r.query,
    `${formatUs(r.byAuth.off.meanUs)} → ${formatUs(r.byAuth.on.meanUs)}`,
    deltaWithCi(r.meanDeltaUs, r.meanDeltaCi95Us),
    `${formatPct(r.meanRelative)}${ciExcludesZero(r.meanDeltaCi95Us) ? '' : ' (n.s.)'}`,
    `${formatUs(r.byAuth.off.p50Us)} → ${formatUs(r.byAuth.on.p50Us)}`,
    deltaWithCi(r.p50DeltaUs, r.p50DeltaCi95Us),
    `${formatUs(r.byAuth.off.p99Us)} → ${formatUs(r.byAuth.on.p99Us)}`,
  ]),
  'Means and quantiles pooled over repetitions via merged histograms; CIs bootstrap over repetitions.',
)}
${light && heavy ? sameCostVerdict(light, heavy) : ''}
${replicationCharts(reps, charts)}</section>`;
}

/** Side by side: the absolute cost (with CIs) and the percentage the published study reported. */
function replicationCharts(reps: readonly ReplicationRecord[], charts: ChartSpec[]): string {
  const abs = forestChart(
    'c-replication-abs',
    reps.map((r) => ({ label: r.query, deltaUs: r.meanDeltaUs, ci: r.meanDeltaCi95Us, significant: ciExcludesZero(r.meanDeltaCi95Us) })),
  );
  const rel: ChartSpec = {
    kind: 'pctBars',
    id: 'c-replication-rel',
    labels: reps.map((r) => r.query),
    values: reps.map((r) => Math.round(r.meanRelative * 10_000) / 100),
    colors: reps.map((r) => verdictColor(ciExcludesZero(r.meanDeltaCi95Us), r.meanDeltaUs)),
  };
  charts.push(abs, rel);
  return `<div class="charts">
${figure(abs.id, 'Absolute cost of auth (on − off).', 'Median over repetitions of the per-repetition mean difference, with its 95% CI.')}
${figure(rel.id, 'The same cost as a percentage.', 'What the published study reported: (on − off) / off of the mean.')}
</div>`;
}
