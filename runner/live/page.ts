/**
 * The live page: static HTML, a stylesheet and a script, all served by the runner itself (no inline code,
 * no external request), so the page runs under `default-src 'none'` plus `'self'` for script, style and
 * the SSE connection.
 */
export const LIVE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const LIVE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>authlab live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/live.css">
</head>
<body>
<header>
  <h1>authlab live</h1>
  <p id="status" aria-live="polite">connecting…</p>
</header>
<main>
  <section class="cards" id="cards" aria-label="per-mode figures of the current scenario"></section>
  <section class="grid">
    <figure><figcaption>p50 per mode (µs)</figcaption><div class="box"><canvas id="chart-p50"></canvas></div></figure>
    <figure><figcaption>p99 per mode (µs)</figcaption><div class="box"><canvas id="chart-p99"></canvas></div></figure>
    <figure><figcaption>responses/s per mode</figcaption><div class="box"><canvas id="chart-rps"></canvas></div></figure>
    <figure><figcaption>token storm: IdP responses/s per refresh policy</figcaption><div class="box"><canvas id="chart-storm"></canvas></div></figure>
  </section>
  <p class="note">Figures come from the runner's live series (the same ones Prometheus scrapes at <a href="/metrics">/metrics</a>):
  rates over the last second, quantiles over the last 2 s of the load generator's histogram (±5% buckets). The report's numbers come from the full HDR histograms.</p>
</main>
<script src="/chart.js"></script>
<script src="/live.js"></script>
</body>
</html>
`;

export const LIVE_CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 1.5rem 2rem; color: #222; }
header { display: flex; align-items: baseline; gap: 1.5rem; flex-wrap: wrap; }
h1 { font-size: 1.3rem; }
#status { color: #444; }
.cards { display: flex; gap: 0.8rem; flex-wrap: wrap; margin: 0.5rem 0 1rem; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: 0.5rem 0.8rem; min-width: 10rem; }
.card h2 { font-size: 1rem; margin: 0 0 0.3rem; }
.card dl { display: grid; grid-template-columns: auto auto; gap: 0.1rem 0.8rem; margin: 0; }
.card dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.card .bad { color: #a00; font-weight: bold; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: 1rem; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 0.3rem; }
.box { position: relative; height: 15rem; }
.note { color: #555; font-size: 0.85rem; max-width: 60rem; }
`;

/** Browser code: plain ES2017 with the Chart.js global; one EventSource, one point per chart per message. */
export const LIVE_SCRIPT = String.raw`
(function () {
  'use strict';
  var COLORS = { direct: '#4c78a8', off: '#72b7b2', observe: '#f58518', enforce: '#e45756' };
  var PALETTE = ['#54a24b', '#b279a2', '#9d755d', '#eeca3b', '#4c78a8', '#e45756'];
  var KEEP = 120; // seconds on screen
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.color = '#222';
  function chart(id) {
    return new Chart(document.getElementById(id), {
      type: 'line',
      data: { datasets: [] },
      options: {
        parsing: false,
        scales: { x: { type: 'linear', title: { display: true, text: 'seconds ago' }, ticks: { callback: function (v) { return String(Math.round(v)); } } }, y: { beginAtZero: true } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
  }
  var charts = { p50: chart('chart-p50'), p99: chart('chart-p99'), rps: chart('chart-rps'), storm: chart('chart-storm') };
  var series = { p50: {}, p99: {}, rps: {}, storm: {} };
  function colorFor(kind, key) {
    if (COLORS[key]) return COLORS[key];
    var keys = Object.keys(series[kind]);
    return PALETTE[keys.indexOf(key) % PALETTE.length];
  }
  function push(kind, key, t, v) {
    var s = series[kind][key] || (series[kind][key] = []);
    if (v !== null && v !== undefined) s.push([t, v]);
    while (s.length && t - s[0][0] > KEEP * 1000) s.shift();
  }
  function redraw(kind, now) {
    var c = charts[kind];
    c.data.datasets = Object.keys(series[kind]).map(function (k) {
      var col = colorFor(kind, k);
      return { label: k, data: series[kind][k].map(function (p) { return { x: (p[0] - now) / 1000, y: p[1] }; }),
        borderColor: col, backgroundColor: col, pointRadius: 0, borderWidth: 2 };
    });
    c.update('none');
  }
  function fmtUs(v) { return v === null || v === undefined ? '–' : v < 10000 ? v + ' µs' : (v / 1000).toFixed(1) + ' ms'; }
  function clock(s) { s = Math.max(0, Math.round(s)); var m = Math.floor(s / 60); return m + ':' + String(s % 60).padStart(2, '0'); }
  function cards(snap) {
    var root = document.getElementById('cards');
    root.textContent = '';
    Object.keys(snap.modes).sort().forEach(function (mode) {
      var m = snap.modes[mode];
      var card = document.createElement('div');
      card.className = 'card';
      card.dataset.mode = mode;
      var h = document.createElement('h2');
      h.textContent = mode;
      card.appendChild(h);
      var dl = document.createElement('dl');
      [['p50', fmtUs(m.p50Us)], ['p99', fmtUs(m.p99Us)], ['rps', String(m.rps)], ['errors/s', String(m.errorsPerS)]].forEach(function (row) {
        var dt = document.createElement('dt'); dt.textContent = row[0];
        var dd = document.createElement('dd'); dd.textContent = row[1];
        if (row[0] === 'errors/s' && m.errorsPerS > 0) dd.className = 'bad';
        dl.appendChild(dt); dl.appendChild(dd);
      });
      card.appendChild(dl);
      root.appendChild(card);
    });
  }
  var events = new EventSource('/events');
  events.onmessage = function (e) {
    var snap = JSON.parse(e.data);
    var st = snap.study;
    var parts = ['phase: ' + st.phase];
    if (snap.scenario) parts.push('scenario ' + snap.scenario);
    if (st.trials > 0) parts.push('trial ' + st.trial + '/' + st.trials);
    if (st.remainingS !== null) parts.push('remaining ~' + clock(st.remainingS));
    document.getElementById('status').textContent = parts.join(' · ');
    Object.keys(snap.modes).forEach(function (mode) {
      var m = snap.modes[mode];
      push('p50', mode, snap.t, m.p50Us); push('p99', mode, snap.t, m.p99Us); push('rps', mode, snap.t, m.rps);
    });
    Object.keys(snap.storm).forEach(function (p) { push('storm', p, snap.t, snap.storm[p]); });
    cards(snap);
    ['p50', 'p99', 'rps', 'storm'].forEach(function (k) { redraw(k, snap.t); });
  };
  events.onerror = function () { document.getElementById('status').textContent = 'disconnected (the study or up has ended?) – retrying'; };
})();
`;
