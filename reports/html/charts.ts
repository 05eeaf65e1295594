import type { ScenarioModel } from '../model.js';
import type { TokenStormRecord } from '../schema.js';

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
export const MODE_COLORS: Record<string, string> = { direct: '#555555', off: '#0072B2', observe: '#E69F00', enforce: '#D55E00' };
const STAGE_COLORS: Record<string, string> = {
  db: '#009E73',
  verify: '#CC79A7',
  sign: '#E69F00',
  upstream: '#56B4E9',
  'other sidecar work': '#9AA5B1',
  'outside the sidecar': '#D9DDE1',
};
const STORM_COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#555555'];
const FALLBACK = '#999999';

export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  points: [number, number][];
}

/** Data for one chart; the page script turns each into a Chart.js chart (functions cannot travel in JSON). */
export type ChartSpec =
  | { kind: 'spectrum'; id: string; series: Series[] }
  | { kind: 'line'; id: string; yUnit: 'us' | 'rps'; xLabel: string; yLabel: string; stepped?: boolean; series: Series[] }
  | { kind: 'stacked'; id: string; labels: string[]; stacks: { label: string; color: string; values: number[] }[] };

export function spectrumChart(id: string, s: ScenarioModel): ChartSpec {
  return {
    kind: 'spectrum',
    id,
    series: s.modes.filter((m) => m.spectrum.length > 0).map((m) => ({ label: m.mode, color: MODE_COLORS[m.mode] ?? FALLBACK, points: m.spectrum })),
  };
}

export function latencyOverTimeChart(id: string, s: ScenarioModel): ChartSpec {
  const series: Series[] = [];
  for (const m of s.modes) {
    const color = MODE_COLORS[m.mode] ?? FALLBACK;
    series.push({ label: `${m.mode} p50`, color, points: m.timeline.map((p) => [p.tMs / 1000, p.p50Us]) });
    series.push({ label: `${m.mode} p99`, color, dashed: true, points: m.timeline.map((p) => [p.tMs / 1000, p.p99Us]) });
  }
  return { kind: 'line', id, yUnit: 'us', xLabel: 'seconds after warm-up', yLabel: 'latency', series };
}

export function throughputOverTimeChart(id: string, s: ScenarioModel): ChartSpec {
  return {
    kind: 'line',
    id,
    yUnit: 'rps',
    xLabel: 'seconds after warm-up',
    yLabel: 'successful requests/s',
    series: s.modes.map((m) => ({ label: m.mode, color: MODE_COLORS[m.mode] ?? FALLBACK, points: m.timeline.map((p) => [p.tMs / 1000, p.rps]) })),
  };
}

/** Stacked bars of each mode's Server-Timing stages (median p50 over runs), stages in a stable order. */
export function serverTimingChart(id: string, s: ScenarioModel): ChartSpec {
  const order = ['db', 'verify', 'sign', 'upstream', 'other sidecar work', 'outside the sidecar'];
  const stages = [...new Set(s.modes.flatMap((m) => Object.keys(m.stagesP50Us)))].sort(
    (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );
  return {
    kind: 'stacked',
    id,
    labels: s.modes.map((m) => m.mode),
    stacks: stages.map((st) => ({ label: st, color: STAGE_COLORS[st] ?? FALLBACK, values: s.modes.map((m) => m.stagesP50Us[st] ?? 0) })),
  };
}

export function stormChart(id: string, storms: readonly TokenStormRecord[]): ChartSpec {
  return {
    kind: 'line',
    id,
    yUnit: 'rps',
    xLabel: 'seconds since start',
    yLabel: 'IdP token requests/s',
    stepped: true,
    series: storms.map((t, i) => ({
      label: t.policy,
      color: STORM_COLORS[i % STORM_COLORS.length]!,
      points: t.idpRpsSeries.map(([ms, rps]) => [ms / 1000, rps]),
    })),
  };
}

/**
 * Browser-side code that draws every spec with the inlined Chart.js. Plain ES2017 (it runs as-is in
 * the page); animations are off so a chart is complete the moment the page has loaded.
 */
export const CHART_SCRIPT = String.raw`
(function () {
  'use strict';
  var sig = function (v) { var r = Number(Number(v).toPrecision(3)); return Math.abs(r) >= 1000 ? r.toLocaleString('en-US') : String(r); };
  var fmtUs = function (v) { return Math.abs(Number(Number(v).toPrecision(3))) < 10000 ? sig(v) + ' µs' : sig(v / 1000) + ' ms'; };
  var fmtRps = function (v) { return sig(v) + '/s'; };
  // Axis ticks share one unit (chosen from the axis maximum) so a scale never mixes µs and ms.
  var axisUs = function (v) { return this.max >= 10000 ? sig(v / 1000) + ' ms' : sig(v) + ' µs'; };
  var PCT = { 2: '50%', 10: '90%', 100: '99%', 1000: '99.9%', 10000: '99.99%', 100000: '99.999%' };
  var pctOf = function (x) { return (100 * (1 - 1 / x)).toPrecision(6).replace(/\.?0+$/, '') + '%'; };
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#222';
  Chart.defaults.plugins.legend.labels.boxWidth = 18;
  Chart.defaults.plugins.legend.labels.boxHeight = 6;
  var specs = JSON.parse(document.getElementById('authlab-chart-data').textContent);
  var line = function (d, stepped) {
    return { label: d.label, data: d.points.map(function (p) { return { x: p[0], y: p[1] }; }), borderColor: d.color,
      backgroundColor: d.color, borderDash: d.dashed ? [6, 4] : [], pointRadius: 0, borderWidth: 2, stepped: !!stepped };
  };
  var drawn = 0;
  specs.forEach(function (s) {
    var canvas = document.getElementById(s.id);
    if (!canvas) return;
    var cfg;
    if (s.kind === 'spectrum') {
      var maxX = 1;
      s.series.forEach(function (d) { d.points.forEach(function (p) { if (p[0] > maxX) maxX = p[0]; }); });
      cfg = { type: 'line', data: { datasets: s.series.map(function (d) { return line(d); }) }, options: {
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'logarithmic', min: 1, max: maxX, title: { display: true, text: 'percentile (log scale of 1/(1−q))' },
            afterBuildTicks: function (ax) { ax.ticks = [1, 2, 10, 100, 1000, 10000, 100000].filter(function (v) { return v <= ax.max * 1.0001; }).map(function (v) { return { value: v }; }); },
            ticks: { callback: function (v) { return PCT[v] || ''; }, autoSkip: false, maxRotation: 0 } },
          y: { beginAtZero: true, title: { display: true, text: 'latency' }, ticks: { callback: axisUs } } },
        plugins: { tooltip: { callbacks: {
          title: function (items) { return items.length ? 'p' + pctOf(items[0].parsed.x) : ''; },
          label: function (c) { return c.dataset.label + ': ' + fmtUs(c.parsed.y); } } } } } };
    } else if (s.kind === 'line') {
      var fmt = s.yUnit === 'us' ? fmtUs : fmtRps;
      var axisFmt = s.yUnit === 'us' ? axisUs : fmtRps;
      cfg = { type: 'line', data: { datasets: s.series.map(function (d) { return line(d, s.stepped); }) }, options: {
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: { x: { type: 'linear', title: { display: true, text: s.xLabel } },
          y: { beginAtZero: true, title: { display: true, text: s.yLabel }, ticks: { callback: axisFmt } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + fmt(c.parsed.y); } } } } } };
    } else if (s.kind === 'stacked') {
      cfg = { type: 'bar', data: { labels: s.labels, datasets: s.stacks.map(function (st) {
          return { label: st.label, data: st.values, backgroundColor: st.color, borderColor: '#fff', borderWidth: 1 }; }) },
        options: { scales: { x: { stacked: true, title: { display: true, text: 'mode' } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: 'median p50 per stage' }, ticks: { callback: axisUs } } },
          plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + fmtUs(c.parsed.y); } } } } } };
    } else return;
    new Chart(canvas, cfg);
    drawn++;
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
`;
