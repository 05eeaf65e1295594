import { esc } from '../format.js';
import { faultTimeline } from '../faults.js';
import type { FaultPhase, FaultRecord, Results } from '../../results/schema.js';
import type { ChartSpec, Series } from './charts.js';
import { figure, table } from './tables.js';

const OUTCOME_COLORS: Record<string, string> = { ok: '#009E73', '503': '#E69F00', '401': '#D55E00', 'no response': '#555555' };

function failedText(p: FaultPhase): string | { html: string } {
  const e = Object.entries(p.failed);
  if (e.length === 0) return '0';
  return { html: `<span class="flag-inline">${esc(e.map(([k, n]) => `${n} × ${k}`).join(', '))}</span>` };
}

/** A vertical marker at `tS` seconds, drawn as a dashed two-point series. */
function marker(label: string, color: string, tS: number, top: number): Series {
  return {
    label,
    color,
    dashed: true,
    points: [
      [tS, 0],
      [tS, top],
    ],
  };
}

function timelineChart(id: string, r: FaultRecord): ChartSpec {
  const series = faultTimeline(r);
  const top = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const lines: Series[] = series.map((s) => ({
    label: s.outcome === 'ok' ? 'ok' : `failed ${s.outcome}`,
    color: OUTCOME_COLORS[s.outcome] ?? '#CC79A7',
    points: s.points,
  }));
  lines.push(marker('fault starts', '#0072B2', r.faultStartMs / 1000, top), marker('fault over', '#56B4E9', r.faultEndMs / 1000, top));
  if (typeof r.dbAcceptingMs === 'number') lines.push(marker('database accepts connections', '#CC79A7', r.dbAcceptingMs / 1000, top));
  return {
    kind: 'line',
    id,
    yUnit: 'rps',
    xLabel: 's since the first request',
    yLabel: 'requests/s (by start, 250 ms bins)',
    stepped: true,
    series: lines,
  };
}

/** The "Faults" section: per fault scenario what was done, requests by phase, recovery, targets, and a timeline. */
export function faultSection(results: Results, charts: ChartSpec[]): string {
  const faults = results.faults ?? [];
  if (faults.length === 0) return '';
  const rows = faults.map((r) => [
    r.scenario,
    `${r.phases.before.sent} / ${r.phases.during.sent} / ${r.phases.after.sent}`,
    failedText(r.phases.before),
    failedText(r.phases.during),
    failedText(r.phases.after),
    r.timeToRecoverMs === null ? { html: '<span class="flag-inline">not recovered</span>' } : `${r.timeToRecoverMs} ms`,
    r.tokenLapsed ? { html: '<span class="flag-inline">yes</span>' } : 'no',
    {
      html: r.targets
        .map(
          (t) => `${t.met ? '✓' : '<span class="flag-inline">✗</span>'} ${esc(t.target)} <span class="muted">(${esc(t.measured)})</span>`,
        )
        .join('<br>'),
    },
  ]);
  const figures = faults.map((r, i) => {
    const spec = timelineChart(`c-fault-${i}`, r);
    charts.push(spec);
    return figure(
      spec.id,
      `${r.scenario}: requests over time`,
      `${r.fault}. Pair ${r.pair} (${r.mode}) at ${r.rateRps} req/s over ${r.connections} connections; dashed lines mark the fault.`,
    );
  });
  return `<section id="faults"><h2>Faults</h2>
<p>Each fault scenario keeps steady load on one pair (a light read through both sidecars, enforce mode), logs every
request, and injects the fault mid-run. A request counts before the fault if it completed before the fault began,
after it if it started once the fault was over, and during otherwise (one in flight when the fault began is during);
time to recover runs from the fault's end (db-restart: from the database accepting connections again) to the last failed request.</p>
${table(
  [
    { head: 'Scenario' },
    { head: 'Sent before / during / after', num: true },
    { head: 'Failed before' },
    { head: 'Failed during' },
    { head: 'Failed after' },
    { head: 'Time to recover', num: true },
    { head: 'Token lapsed' },
    { head: 'Targets' },
  ],
  rows,
)}
<div class="charts one">${figures.join('\n')}</div></section>`;
}
