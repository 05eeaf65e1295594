import { esc, formatPct, formatUs } from '../format.js';
import type { ScenarioModel } from '../model.js';
import type { Results } from '../../results/schema.js';
import { table } from './tables.js';

/** Scenarios set side by side, cheapest data tier first. */
const TIERS: readonly [string, string][] = [
  ['heavy-cached', 'Redis cache hit'],
  ['light', 'PostgreSQL point read'],
  ['heavy', 'PostgreSQL heavy aggregate'],
];

/**
 * "Auth next to the data tier": for `heavy-cached` beside `light` and `heavy`, the median latency with
 * auth off and enforced, auth's cost (enforce − off, p50, and the in-band sign + verify estimate) and
 * its share of the enforced request. Shown when the study ran `heavy-cached`.
 */
export function dataTierSection(results: Results, scenarios: readonly ScenarioModel[]): string {
  if (!scenarios.some((s) => s.scenario === 'heavy-cached')) return '';
  const rows = TIERS.flatMap(([name, tier]) => {
    const s = scenarios.find((m) => m.scenario === name);
    if (!s) return [];
    // A mode without a valid run has no latency to show (its summary is all zeros).
    const p50 = (mode: string) => {
      const m = s.modes.find((x) => x.mode === mode);
      return m && m.validRuns > 0 ? m.latency.p50 : undefined;
    };
    const off = p50('off');
    const enforce = p50('enforce');
    const c = s.comparisons.find((x) => x.baseline === 'off' && x.candidate === 'enforce' && x.stat === 'p50');
    const inBand = results.estimates?.find(
      (e) => e.scenario === name && e.estimator === 'in-band-auth' && e.baseline === 'off' && e.candidate === 'enforce',
    );
    const share = (us: number | undefined) => (us !== undefined && enforce ? formatPct(us / enforce) : '—');
    return [
      [
        name,
        tier,
        off === undefined ? '—' : formatUs(off),
        enforce === undefined ? '—' : formatUs(enforce),
        c ? (c.significant ? formatUs(c.deltaUs) : `n.s. (${formatUs(c.deltaUs)})`) : '—',
        c?.significant ? share(c.deltaUs) : '—',
        inBand ? formatUs(inBand.delta) : '—',
        share(inBand?.delta),
      ],
    ];
  });
  return `<section id="data-tier"><h2>Auth next to the data tier</h2>
<p>The same auth cost set beside a Redis cache hit (<code>heavy-cached</code>), a point read and the heavy
aggregate: where the data tier is fast, auth is a large share of the request; behind tens of ms of PostgreSQL
it vanishes. ${esc('Share = auth cost ÷ enforced p50.')}</p>
${table(
  [
    { head: 'Scenario' },
    { head: 'Data tier' },
    { head: 'p50, auth off', num: true },
    { head: 'p50, enforce', num: true },
    { head: 'enforce − off (p50)', num: true },
    { head: 'Share', num: true },
    { head: 'In-band sign + verify', num: true, title: 'Server-Timing estimate of auth cost, median per run' },
    { head: 'Share (in-band)', num: true },
  ],
  rows,
)}</section>`;
}
