import { trendCharts, type History } from '../history.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { esc, formatPct } from '../format.js';
import type { ScenarioModel } from '../model.js';
import type { Results } from '../../results/schema.js';
import { CHART_SCRIPT } from './chart-script.js';
import type { ChartSpec } from './charts.js';
import { comparisonLabel, isSignificant } from '../verdicts.js';
import { environmentSection, floorSection, invalidSection, loadWarning, scenarioSection, slug, verdictHtml } from './sections.js';
import { replicationSection, steadyPeakRps, stormSection } from './studies.js';
import { faultSection } from './faults.js';
import { dataTierSection } from './data-tier.js';
import { authCostSection, calibrationItems } from './auth-cost.js';
import { authCostRows, findingSentence } from '../auth-cost.js';

let chartJsCache: string | undefined;

/** Chart.js UMD build, read from node_modules at render time so the report needs no network. */
export function chartJsSource(): string {
  if (chartJsCache === undefined) {
    // The package's exports map hides dist/chart.umd.min.js, so locate it next to the resolved entry.
    const entry = createRequire(import.meta.url).resolve('chart.js');
    chartJsCache = readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8');
  }
  return chartJsCache;
}

/** Text safe inside <script>: a literal "</script" or "<!--" would end or confuse the element. */
function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

const CSS = `
:root{--fg:#1b1b1b;--muted:#5a5a5a;--line:#d9d9d9;--bg-alt:#f6f7f8;--accent:#0b5cad;--bad:#b3261e;--good:#1e7b34}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.3rem;margin:40px 0 8px;padding-top:8px;border-top:2px solid var(--line)}
h3{font-size:1.05rem;margin:22px 0 6px}
.muted{color:var(--muted)}
nav.toc{background:var(--bg-alt);border:1px solid var(--line);border-radius:6px;padding:10px 16px;margin:16px 0}
nav.toc ol{margin:4px 0;padding-left:22px;columns:2}
a{color:var(--accent)}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0 12px;font-size:14px}
caption{caption-side:bottom;text-align:left;color:var(--muted);font-size:12.5px;padding-top:4px}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #999;white-space:nowrap}
tbody tr:nth-child(even){background:var(--bg-alt)}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.num.wrap{white-space:normal}.nw{white-space:nowrap}
tbody th{font-weight:600}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:8px 0}
dl.kv dt{font-weight:600}dl.kv dd{margin:0}
.verdict.worse{color:var(--bad);font-weight:600}.verdict.better{color:var(--good);font-weight:600}.verdict.ns{color:var(--muted)}
.flag{background:#fdecea;border-left:4px solid var(--bad);padding:8px 12px}
.flag-inline{color:var(--bad);font-weight:600}
.callout{background:#eef4fb;border-left:4px solid var(--accent);padding:10px 14px}
.findings{background:var(--bg-alt);border:1px solid var(--line);border-radius:6px;padding:8px 18px}
.findings li{margin:3px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:18px;margin-top:12px}
.charts.one{grid-template-columns:1fr}
figure.chart{margin:0;border:1px solid var(--line);border-radius:6px;padding:10px 12px}
figcaption{font-size:13px;color:var(--muted);margin-bottom:6px}figcaption strong{color:var(--fg)}
.canvas-box{position:relative;height:280px}
footer{margin-top:48px;color:var(--muted);font-size:13px}
@media print{.charts{grid-template-columns:1fr}}
`;

function findings(results: Results): string {
  const auth = results.comparisons.filter((c) => c.baseline === 'off' && c.candidate === 'enforce');
  // Lead with the estimator that resolves the auth cost (in-band, CPU), per scenario; the end-to-end
  // verdicts follow, labelled as such.
  const costs = authCostRows(results).filter((r) => r.baseline === 'off' && r.candidate === 'enforce');
  const items: string[] = [];
  for (const scenario of [...new Set(costs.map((r) => r.scenario))]) {
    const sentence = findingSentence(costs.filter((r) => r.scenario === scenario));
    if (sentence) items.push(`<li><strong>${esc(scenario)}</strong>, auth cost (enforce − off): ${esc(sentence)}</li>`);
  }
  items.push(...calibrationItems(results));
  const busy = loadWarning(results);
  if (busy) items.push(`<li class="flag-inline">${esc(busy)}</li>`);
  items.push(...auth.map((c) => `<li><strong>${esc(c.scenario)}</strong>, ${esc(comparisonLabel(c))}, end-to-end: ${verdictHtml(c)}</li>`));
  const storms = results.tokenStorm;
  const steady = storms.filter((t) => !Number.isNaN(steadyPeakRps(t))).sort((a, b) => steadyPeakRps(a) - steadyPeakRps(b));
  if (steady.length > 1) {
    const low = steady[0]!;
    const high = steady[steady.length - 1]!;
    items.push(
      `<li><strong>Token storm</strong>: after the cold start, refreshes alone bring the IdP peaks of ${steadyPeakRps(low)} req/s (${esc(low.policy)}) up to ${steadyPeakRps(high)} req/s (${esc(high.policy)}) for ${high.services} services — see <a href="#token-storm">Token storm</a>.</li>`,
    );
  }
  const light = results.replication?.find((r) => r.query === 'light');
  const heavy = results.replication?.find((r) => r.query === 'heavy');
  if (light && heavy) {
    items.push(
      `<li><strong>Replication</strong>: the published design reports ${esc(formatPct(light.meanRelative))} overhead on the light query and ${esc(formatPct(heavy.meanRelative))} on the heavy one; in absolute terms see <a href="#replication">Replication</a>.</li>`,
    );
  }
  for (const f of results.faults ?? []) {
    const missed = f.targets.filter((t) => !t.met);
    items.push(
      `<li${missed.length ? ' class="flag-inline"' : ''}><strong>${esc(f.scenario)}</strong>: ${
        missed.length
          ? `missed ${esc(missed.map((t) => `${t.target} (${t.measured})`).join('; '))}`
          : `every target met (${esc(f.targets.map((t) => t.measured).join('; '))})`
      } — see <a href="#faults">Faults</a>.</li>`,
    );
  }
  const invalid = results.runs.filter((r) => !r.valid).length;
  if (invalid > 0)
    items.push(
      `<li class="flag-inline">${invalid} invalid run${invalid > 1 ? 's' : ''} excluded — see <a href="#invalid">Invalid runs</a>.</li>`,
    );
  const sig = auth.filter(isSignificant).length;
  const lead =
    costs.length > 0
      ? `Auth cost is led by the estimator that resolves it (in-band Server-Timing, CPU counters); end-to-end, auth overhead is significant in ${sig} of ${auth.length} scenario × statistic comparisons. Every verdict is Holm-adjusted across the study.`
      : auth.length
        ? `Auth overhead (enforce − off) is significant in ${sig} of ${auth.length} scenario × statistic comparisons.`
        : 'No auth-overhead comparisons were recorded.';
  return `<section id="findings" class="findings"><h2 style="border:0;margin-top:8px">Key findings</h2><p>${esc(lead)}</p><ul>${items.join('')}</ul></section>`;
}

/** Headline figures across the runs of a benchmark history, so a drift shows before it crosses the gate. */
function trendSection(history: History | undefined, charts: ChartSpec[]): string {
  if (!history || history.entries.length === 0) return '';
  const first = history.entries[0]!;
  const last = history.entries[history.entries.length - 1]!;
  const blocks = trendCharts(history).map(({ scenario, chart }) => {
    charts.push(chart);
    return `<h3>${esc(scenario)}</h3><div class="chart"><canvas id="${chart.id}" role="img" aria-label="${esc(`p50 and p99 per mode of ${scenario} across benchmark runs`)}"></canvas></div>`;
  });
  return `<section id="trend"><h2>Trend across benchmark runs</h2><p class="muted">${history.entries.length} run(s) of the benchmark history, ${esc(first.at)} → ${esc(last.at)}; p50 solid, p99 dashed, from each run's merged histograms (valid runs only).</p>${blocks.join('')}</section>`;
}

/**
 * The self-contained report page: inline CSS, Chart.js and chart data; no external request of any kind.
 *
 * @param scenarios `buildScenarioModels(results)`, built once by the caller and shared with summary.md.
 * @param history a benchmark history (reports/history.ts) this study belongs to: adds the trend section.
 */
export function renderHtml(results: Results, scenarios: readonly ScenarioModel[], history?: History): string {
  const charts: ChartSpec[] = [];
  const trend = trendSection(history, charts);
  const scenarioHtml = scenarios.map((s) => scenarioSection(s, charts)).join('\n');
  const storm = stormSection(results, charts);
  const replication = replicationSection(results, charts);
  const faults = faultSection(results, charts);
  const dataTier = dataTierSection(results, scenarios);
  const toc: [string, string][] = [
    ['findings', 'Key findings'],
    ...(trend ? [['trend', 'Trend across benchmark runs'] as [string, string]] : []),
    ['environment', 'Environment and design'],
    ...((results.estimates?.length ?? 0) > 0 ? [['auth-cost', 'Auth cost by estimator'] as [string, string]] : []),
    ['floor', 'Harness floor'],
    ...scenarios.map((s): [string, string] => [`s-${slug(s.scenario)}`, `Scenario: ${s.scenario}`]),
    ...(dataTier ? [['data-tier', 'Auth next to the data tier'] as [string, string]] : []),
    ...(storm ? [['token-storm', 'Token storm'] as [string, string]] : []),
    ...(replication ? [['replication', 'Replication of the published study'] as [string, string]] : []),
    ...(faults ? [['faults', 'Faults'] as [string, string]] : []),
    ['invalid', 'Invalid runs'],
    ['method', 'How to read this report'],
  ];
  const { study } = results;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>authlab report — ${esc(study.id)}</title>
<style>${CSS}</style></head>
<body><main>
<header><h1>authlab study report</h1><p class="muted">Study <code>${esc(study.id)}</code> · ${esc(study.platform)} · ${esc(study.engine)} · ${esc(study.design)} design · ${study.trials} trials · ${esc(study.startedAt)}</p></header>
<nav class="toc" aria-label="Contents"><strong>Contents</strong><ol>${toc.map(([id, t]) => `<li><a href="#${id}">${esc(t)}</a></li>`).join('')}</ol></nav>
${findings(results)}
${trend}
${environmentSection(results)}
${authCostSection(results)}
${floorSection(results)}
${scenarioHtml}
${dataTier}
${storm}
${replication}
${faults}
${invalidSection(results)}
<section id="method"><h2>How to read this report</h2><ul>
<li>The unit of statistics is a <em>run</em>, not a request: each run yields its own p50 and p99; a comparison takes the per-trial difference between two modes run side by side, and reports the median of those differences.</li>
<li>95% confidence intervals are percentile bootstraps over trials (10,000 resamples); p-values are two-sided Wilcoxon signed-rank tests. A difference is significant when the interval excludes zero and p &lt; 0.05 (with very few trials a bootstrap interval alone overclaims); otherwise the verdict is “no significant difference”, and no signed number is claimed.</li>
<li>Multiplicity: a report holds many comparisons, so each p is Holm-adjusted across the study's whole family (every comparison and every auth-cost estimate) and verdicts use the adjusted p; the chance of any false “significant” line is then at most 5% whatever the dependence between tests. Holm rather than Benjamini–Hochberg because BH bounds only the share of false lines, and a reader acts on a single line. Both raw and adjusted p are shown.</li>
<li>Quantile tables and percentile spectra come from the HDR histograms of all valid runs merged; percentiles are never averaged.</li>
<li>Latencies are measured in microseconds; shown in µs below 10 ms and in ms above, to 3 significant figures.</li>
</ul></section>
<footer>Generated by authlab from results.json (schemaVersion ${results.schemaVersion}). Works offline: everything is in this file.</footer>
</main>
<script>${scriptSafe(chartJsSource())}</script>
<script type="application/json" id="authlab-chart-data">${JSON.stringify(charts).replace(/</g, '\\u003c')}</script>
<script>${scriptSafe(CHART_SCRIPT)}</script>
</body></html>
`;
}
