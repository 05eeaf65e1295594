import { esc, formatPct } from '../format.js';
import {
  aaFalsePositives,
  authCostRows,
  calibrationChecks,
  calibrationWords,
  costCells,
  formatCost,
  shortLabel,
  type CostRow,
} from '../auth-cost.js';
import type { Results } from '../../results/schema.js';
import { table } from './tables.js';

const COMPARISON_WORDS: Record<string, string> = {
  'off→enforce': 'auth overhead (enforce − off)',
  'off→observe': 'dry-run overhead (observe − off)',
  'direct→off': 'sidecar path overhead (off − direct)',
  'observe→enforce': 'enforce − observe (calibration: the injected busy-wait only)',
};

/**
 * A cost row's cells, its Δ able to break before a parenthesis ("+45.5 CPU µs/request" | "(+0.045 vCPU
 * per 1,000 req/s)"): kept on one line, that figure took the width the estimator's name needs, which then
 * wrapped over six lines.
 */
function deltaWraps(r: CostRow): (string | { html: string })[] {
  const cells: (string | { html: string })[] = costCells(r);
  const delta = cells[1] as string;
  const at = delta.indexOf(' (');
  const parts = at > 0 ? [delta.slice(0, at), delta.slice(at + 1)] : [delta];
  cells[1] = { html: parts.map((p) => `<span class="nw">${esc(p)}</span>`).join(' ') };
  return cells;
}

/**
 * The IdP's CPU per request over the load scenarios (it serves every pair at once, so it has no
 * per-mode figure): in steady state tokens are cached and it should be near zero.
 */
function idpCpuText(results: Results): string {
  // idpUs is the same for every run of a step: count each step once.
  const steps = new Map<string, { idpUs: number; requests: number }>();
  for (const r of results.runs) {
    if (r.cpu?.idpUs === undefined) continue;
    const key = `${r.scenario}/${r.trial}/${r.cpu.idpUs}`;
    const s = steps.get(key) ?? { idpUs: r.cpu.idpUs, requests: 0 };
    s.requests += r.cpu.requests;
    steps.set(key, s);
  }
  if (steps.size === 0) return '';
  const idpUs = [...steps.values()].reduce((a, s) => a + s.idpUs, 0);
  const requests = [...steps.values()].reduce((a, s) => a + s.requests, 0);
  return `<p>IdP CPU during the load scenarios: ${esc((idpUs / requests).toFixed(1))} CPU µs per request across all modes (${esc(Math.round(idpUs / 1000))} ms over ${esc(requests.toLocaleString('en-US'))} requests; tokens are cached, so this is mostly its settings stream and housekeeping).</p>`;
}

/** Every estimator side by side per scenario and comparison, each with its CI and resolution. */
export function authCostSection(results: Results): string {
  const rows = authCostRows(results);
  if (rows.length === 0) return '';
  const groups = [...new Set(rows.map((r) => `${r.scenario}\u0000${r.baseline}→${r.candidate}`))];
  const tables = groups.map((g) => {
    const [scenario, pair] = g.split('\u0000') as [string, string];
    const mine = rows.filter((r) => r.scenario === scenario && `${r.baseline}→${r.candidate}` === pair);
    return `<h3>${esc(scenario)}: ${esc(COMPARISON_WORDS[pair] ?? pair)}</h3>${table(
      [
        { head: 'Estimator' },
        { head: 'Δ', num: true, wrap: true, title: 'Median over trials of the per-trial difference (shown only when significant)' },
        { head: '95% CI', num: true, title: 'Percentile bootstrap over trials' },
        { head: 'Resolution', num: true, title: 'Half the CI width: the smallest effect this estimator resolves here' },
        { head: 'p', num: true, title: 'Exact Wilcoxon signed-rank, two-sided, unadjusted' },
        { head: 'p (Holm)', num: true, title: "Holm-adjusted across the study's family" },
        { head: 'Trials', num: true },
        { head: 'Verdict' },
      ],
      mine.map(deltaWraps),
    )}`;
  });
  return `<section id="auth-cost"><h2>Auth cost by estimator</h2>
<p>Four ways to measure what auth costs, set side by side with their resolution (half the 95% CI): the sidecars'
own Server-Timing stages per request (in-band: the sign + verify stages, and all time inside the two sidecars but the
database and the hop); the CPU the sidecar processes spent inside the sign + verify stages, read from the process CPU
clock around each stage on one request in eight per sidecar and sent beside their time (<code>sign-cpu</code>,
<code>verify-cpu</code>; in-band CPU; those responses are left out of the time figures, which the clock's reads
lengthen); the
sidecars' whole CPU time per request from the processes' CPU counters (÷ 1000 = vCPU per 1,000 requests/s, the figure
Istio publishes for its proxy: it includes indirect costs such as longer headers, and every wake-up's noise); and the
end-to-end p50 the load generator saw. End-to-end includes everything but carries the whole request's noise; in-band
and CPU see only the sidecars, with far less noise. All are paired by trial; verdicts use the Holm-adjusted p. The
<code>sign</code> stage is the auth work alone (token, egress check), not the body validation every mode does.</p>
${idpCpuText(results)}
${tables.join('\n')}</section>`;
}

/** Key-findings items: did each estimator recover the injected wait; the A/A false-positive rate. */
export function calibrationItems(results: Results): string[] {
  const items: string[] = [];
  const checks = calibrationChecks(results);
  for (const scenario of [...new Set(checks.map((c) => c.scenario))]) {
    const mine = checks.filter((c) => c.scenario === scenario);
    const parts = mine.map((c) => `${shortLabel(c.estimator)}: ${formatCost(c.row, true)} — ${calibrationWords(c)}`);
    items.push(
      `<li><strong>${esc(scenario)}</strong>, calibration (enforce − observe, true value ${mine[0]!.truthUs} µs injected): ${esc(parts.join('; '))}.</li>`,
    );
  }
  const aa = aaFalsePositives(results);
  if (aa) {
    const rate = aa.tests ? aa.significant / aa.tests : 0;
    items.push(
      `<li${aa.significant > 0 ? ' class="flag-inline"' : ''}><strong>A/A study</strong> (observe and enforce configured exactly like off): ${aa.significant} of ${aa.tests} auth tests significant after Holm's adjustment — observed false-positive rate ${esc(formatPct(rate))}.</li>`,
    );
  }
  return items;
}
