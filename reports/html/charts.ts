import type { ScenarioModel } from '../model.js';
import { PART_ORDER } from '../stages.js';
import type { TokenStormRecord } from '../../results/schema.js';

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
export const MODE_COLORS: Record<string, string> = { direct: '#555555', off: '#0072B2', observe: '#E69F00', enforce: '#D55E00' };
const STAGE_COLORS: Record<string, string> = {
  db: '#009E73',
  verify: '#CC79A7',
  sign: '#E69F00',
  'target other': '#7FB8A4',
  'hop to target': '#56B4E9',
  upstream: '#56B4E9',
  'caller other': '#9AA5B1',
  'sidecar other': '#9AA5B1',
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
  | { kind: 'stacked'; id: string; labels: string[]; stacks: { label: string; color: string; values: number[] }[] }
  /** Estimates with 95% CIs as horizontal intervals (a forest plot), µs; a vertical line marks zero. */
  | { kind: 'forest'; id: string; labels: string[]; estimates: number[]; ci: [number, number][]; colors: string[] }
  /** Plain bars of percentages. */
  | { kind: 'pctBars'; id: string; labels: string[]; values: number[]; colors: string[] };

/** Colour of a verdict: slower (red), faster (green), not significant (grey). */
export function verdictColor(significant: boolean, deltaUs: number): string {
  if (!significant) return '#8a8f96';
  return deltaUs > 0 ? '#C0392B' : '#1E7B34';
}

/** Forest plot of a scenario's comparisons (stat by stat), estimates and CIs in µs. */
export function forestChart(
  id: string,
  rows: readonly { label: string; deltaUs: number; ci: [number, number]; significant: boolean }[],
): ChartSpec {
  return {
    kind: 'forest',
    id,
    labels: rows.map((r) => r.label),
    estimates: rows.map((r) => r.deltaUs),
    ci: rows.map((r) => r.ci),
    colors: rows.map((r) => verdictColor(r.significant, r.deltaUs)),
  };
}

export function spectrumChart(id: string, s: ScenarioModel): ChartSpec {
  return {
    kind: 'spectrum',
    id,
    series: s.modes
      .filter((m) => m.spectrum.length > 0)
      .map((m) => ({ label: m.mode, color: MODE_COLORS[m.mode] ?? FALLBACK, points: m.spectrum })),
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
    series: s.modes.map((m) => ({
      label: m.mode,
      color: MODE_COLORS[m.mode] ?? FALLBACK,
      points: m.timeline.map((p) => [p.tMs / 1000, p.rps]),
    })),
  };
}

/** Stacked bars of each mode's Server-Timing stages (median p50 over runs), stages in a stable order. */
export function serverTimingChart(id: string, s: ScenarioModel): ChartSpec {
  const order: readonly string[] = PART_ORDER;
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
