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
    } else if (s.kind === 'forest') {
      // Two overlaid floating bars per row: the CI (light) and a thin marker at the estimate (dark).
      var lo = Math.min.apply(null, s.ci.map(function (c) { return c[0]; }).concat([0]));
      var hi = Math.max.apply(null, s.ci.map(function (c) { return c[1]; }).concat([0]));
      var w = Math.max((hi - lo) * 0.004, 0.5);
      cfg = { type: 'bar', data: { labels: s.labels, datasets: [
          { label: '95% CI', data: s.ci, backgroundColor: s.colors.map(function (c) { return c + '55'; }), borderColor: s.colors, borderWidth: 1, grouped: false, barPercentage: 0.55 },
          { label: 'median difference', data: s.estimates.map(function (e) { return [e - w, e + w]; }), backgroundColor: s.colors, grouped: false, barPercentage: 0.9 } ] },
        options: { indexAxis: 'y',
          scales: { x: { title: { display: true, text: 'difference (candidate − baseline)' }, ticks: { callback: axisUs },
              grid: { color: function (ctx) { return ctx.tick && ctx.tick.value === 0 ? '#333' : 'rgba(0,0,0,0.1)'; }, lineWidth: function (ctx) { return ctx.tick && ctx.tick.value === 0 ? 2 : 1; } } },
            y: { ticks: { autoSkip: false } } },
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) {
            var i = c.dataIndex; return fmtUs(s.estimates[i]) + '  [' + fmtUs(s.ci[i][0]) + ', ' + fmtUs(s.ci[i][1]) + ']'; } } } } } };
    } else if (s.kind === 'pctBars') {
      cfg = { type: 'bar', data: { labels: s.labels, datasets: [{ label: 'relative difference of means', data: s.values, backgroundColor: s.colors }] },
        options: { scales: { y: { beginAtZero: true, title: { display: true, text: '(on − off) / off' }, ticks: { callback: function (v) { return sig(v) + '%'; } } } },
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) { return sig(c.parsed.y) + '%'; } } } } } };
    } else return;
    new Chart(canvas, cfg);
    drawn++;
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
`;
