import { formatCiUs, formatDeltaUs, formatPct, formatRps, formatUs } from './format.js';
import { comparisonCells, comparisonVerdict } from './verdicts.js';
import {
  aaFalsePositives,
  authCostRows,
  calibrationChecks,
  calibrationWords,
  costCells,
  findingSentence,
  formatCost,
} from './auth-cost.js';
import { ciExcludesZero } from '../results/stats/index.js';
import { STORM_COLUMNS } from './html/studies.js';
import type { ScenarioModel } from './model.js';
import type { Results } from '../results/schema.js';

/** A signed delta only when its CI excludes zero; otherwise "n.s." (never a sign that may be noise). */
const sig = (deltaUs: number, ci: readonly [number, number]): string => (ciExcludesZero(ci) ? formatDeltaUs(deltaUs) : 'n.s.');

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A GitHub-flavoured Markdown table; `right` marks numeric columns. */
export function mdTable(head: readonly string[], rows: readonly string[][], right: readonly boolean[] = []): string {
  const sep = head.map((_, i) => (right[i] ? '---:' : '---'));
  return [head, sep, ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}

/**
 * summary.md: the verdicts and headline numbers as Markdown, for CI job summaries and pull requests.
 *
 * @param scenarios `buildScenarioModels(results)`, built once by the caller and shared with report.html.
 */
export function renderMarkdown(results: Results, scenarios: readonly ScenarioModel[]): string {
  const { study } = results;
  const out: string[] = [];
  out.push(`# authlab study ${study.id}`, '');
  out.push(
    `${study.platform} platform, ${study.engine}, ${study.design} design, ${study.trials} trials on ${study.pairs} pairs` +
      `${study.dataPlane === 'go' ? ', outbound calls through the Go data plane' : ''}` +
      `${study.quick ? ' (quick)' : ''}; ${study.startedAt}; code ${study.git.commit ? study.git.commit.slice(0, 12) : 'unknown'}` +
      `${study.git.dirty ? ' (dirty)' : ''}; host ${study.env.cpus} CPUs, ${study.env.cpuModel}${study.env.kubernetes ? `, Kubernetes ${study.env.kubernetes}` : ''}` +
      `${study.machine ? `; load average ${study.machine.loadAvgStart[0]} → ${study.machine.loadAvgEnd[0]} (max ${study.machine.loadAvg1mMax}), ${study.machine.pinning}` : ''}.`,
    '',
  );
  if (study.machine && study.machine.loadAvg1mMax > study.machine.cores)
    out.push(
      `> **Busy host:** load average up to ${study.machine.loadAvg1mMax} on ${study.machine.cores} cores during the study; CIs are wider than on a quiet host.`,
      '',
    );

  out.push('## Verdicts', '');
  if (results.comparisons.length === 0) out.push('No comparisons recorded.', '');
  else {
    out.push(
      mdTable(
        ['Scenario', 'Comparison', 'Stat', 'Δ', '95% CI', 'p', 'p (Holm)', 'Trials', 'Verdict'],
        results.comparisons.map((c) => [c.scenario, ...comparisonCells(c), comparisonVerdict(c)]),
        [false, false, false, true, true, true, true, true, false],
      ),
      '',
      "Δ: median over trials of the per-trial difference; CI: bootstrap over trials; p: Wilcoxon signed-rank; p (Holm): adjusted across all the study's comparisons; significant when the CI excludes 0 and the adjusted p < 0.05.",
      '',
    );
  }

  const costs = authCostRows(results);
  if (costs.length > 0) {
    out.push('## Auth cost by estimator', '');
    out.push(
      mdTable(
        ['Scenario', 'Comparison', 'Estimator', 'Δ', '95% CI', 'Resolution', 'p', 'p (Holm)', 'Trials', 'Verdict'],
        costs.map((r) => [r.scenario, `${r.candidate} − ${r.baseline}`, ...costCells(r)]),
        [false, false, false, true, true, true, true, true, true, false],
      ),
      '',
      "In-band: Server-Timing per request (sign + verify; all time inside the sidecars but database and hop), per-run p50. CPU: the sidecars' CPU µs per request (÷ 1000 = vCPU per 1,000 req/s). Resolution: half the 95% CI. Verdicts on the Holm-adjusted p.",
      '',
    );
    for (const scenario of [...new Set(costs.map((r) => r.scenario))]) {
      const s = findingSentence(costs.filter((r) => r.scenario === scenario && r.baseline === 'off' && r.candidate === 'enforce'));
      if (s) out.push(`- **${scenario}**, auth cost (enforce − off): ${s}`);
    }
    for (const c of calibrationChecks(results)) {
      out.push(
        `- **${c.scenario}**, calibration (${c.truthUs} µs injected into enforce; enforce − observe) by ${c.estimator}: ${formatCost(c.row, true)} — ${calibrationWords(c)}`,
      );
    }
    const aa = aaFalsePositives(results);
    if (aa)
      out.push(`- **A/A study**: ${aa.significant} of ${aa.tests} auth tests significant after Holm's adjustment (all are truly null).`);
    out.push('');
  }

  out.push('## Latency by mode', '');
  const rows: string[][] = [];
  for (const s of scenarios) {
    for (const m of s.modes) {
      rows.push([
        s.scenario,
        m.mode,
        `${m.validRuns}${m.invalidRuns ? ` (+${m.invalidRuns} invalid)` : ''}`,
        formatUs(m.latency.p50),
        formatUs(m.latency.p90),
        formatUs(m.latency.p99),
        formatUs(m.latency.p999),
        formatUs(m.latency.max),
        formatRps(m.throughputRps),
        m.errorRate === 0 ? '0' : formatPct(m.errorRate),
      ]);
    }
  }
  out.push(
    mdTable(['Scenario', 'Mode', 'Runs', 'p50', 'p90', 'p99', 'p99.9', 'max', 'Throughput', 'Errors'], rows, [
      false,
      false,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]),
    '',
    'Quantiles from the merged HDR histograms of valid runs.',
    '',
  );

  const faults = results.faults ?? [];
  if (faults.length > 0) {
    const failed = (f: Record<string, number>) =>
      Object.entries(f)
        .map(([k, n]) => `${n} × ${k}`)
        .join(', ') || '0';
    out.push('## Faults', '');
    out.push(
      mdTable(
        ['Scenario', 'Sent', 'Failed before', 'Failed during', 'Failed after', 'Time to recover', 'Token lapsed', 'Targets'],
        faults.map((f) => [
          f.scenario,
          String(f.requestLog.tMs.length),
          failed(f.phases.before.failed),
          failed(f.phases.during.failed),
          failed(f.phases.after.failed),
          f.timeToRecoverMs === null ? 'not recovered' : `${f.timeToRecoverMs} ms`,
          f.tokenLapsed ? 'yes' : 'no',
          f.targets.map((t) => `${t.met ? 'met' : 'MISSED'}: ${t.target} (${t.measured})`).join('; '),
        ]),
        [false, true, false, false, false, true, false, false],
      ),
      '',
    );
  }

  if (results.tokenStorm.length > 0) {
    out.push('## Token storm', '');
    out.push(
      mdTable(
        STORM_COLUMNS.map((c) => c.head),
        results.tokenStorm.map((t) => STORM_COLUMNS.map((c) => c.cell(t))),
        STORM_COLUMNS.map((c) => c.num),
      ),
      '',
    );
  }

  if (results.replication && results.replication.length > 0) {
    out.push('## Replication of the published mean-only study', '');
    out.push(
      mdTable(
        ['Query', 'Mean off', 'Mean on', 'Δ mean', '95% CI', 'Relative (as published)', 'Δ p50', '95% CI'],
        results.replication.map((r) => [
          r.query,
          formatUs(r.byAuth.off.meanUs),
          formatUs(r.byAuth.on.meanUs),
          sig(r.meanDeltaUs, r.meanDeltaCi95Us),
          formatCiUs(...r.meanDeltaCi95Us),
          formatPct(r.meanRelative),
          sig(r.p50DeltaUs, r.p50DeltaCi95Us),
          formatCiUs(...r.p50DeltaCi95Us),
        ]),
        [false, true, true, true, true, true, true, true],
      ),
      '',
    );
  }

  const bad = results.runs.filter((r) => !r.valid);
  out.push('## Invalid runs', '');
  if (bad.length === 0) out.push(`All ${results.runs.length} runs are valid.`, '');
  else {
    out.push(`${bad.length} of ${results.runs.length} runs excluded:`, '');
    for (const r of bad)
      out.push(
        `- \`${r.id}\` (${r.scenario}, ${r.mode}, trial ${r.trial}): ${r.invalidReason ?? 'no reason recorded'}${r.invalidFor === 'latency' ? ' (latency comparisons only: its in-band and CPU figures are used)' : ''}`,
      );
    out.push('');
  }
  return out.join('\n');
}
