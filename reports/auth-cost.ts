import { formatCiUs, formatDeltaUs, formatP } from './format.js';
import type { Comparison, Estimate, EstimatorName, Results } from '../results/schema.js';
import { ALPHA, isSignificantDifference } from '../results/stats/index.js';

/** Estimators a report sets side by side: the study's estimates plus the end-to-end p50 comparison. */
export type CostEstimator = EstimatorName | 'end-to-end';

/** One auth-cost estimate as the report shows it, whatever its source. */
export interface CostRow {
  scenario: string;
  baseline: string;
  candidate: string;
  estimator: CostEstimator;
  unit: Estimate['unit'];
  delta: number;
  ci95: readonly [number, number];
  /** Half the CI's width: the smallest effect this estimator resolves here, in `unit`. */
  resolution: number;
  pValue: number;
  pAdjusted?: number;
  significant: boolean;
  n?: number;
}

export const ESTIMATOR_LABEL: Record<CostEstimator, string> = {
  'in-band-sidecar': 'in-band: time inside the sidecars (Server-Timing, per-run p50)',
  'in-band-auth': 'in-band: sign + verify stages (Server-Timing, per-run p50)',
  'in-band-auth-cpu': 'in-band CPU: sidecar CPU in the sign + verify stages (Server-Timing, per-run p50)',
  cpu: 'CPU: sidecar CPU time per request',
  'end-to-end': 'end-to-end p50 (load generator)',
};

/** Which latency estimator answers "what does auth cost per request", most complete first. */
const PREFERENCE: readonly CostEstimator[] = ['in-band-sidecar', 'in-band-auth', 'end-to-end'];
/** The same for CPU: the whole processes' CPU first (indirect costs included), then the auth stages' own. */
const CPU_PREFERENCE: readonly CostEstimator[] = ['cpu', 'in-band-auth-cpu'];

const judged = (p: number, pAdj: number | undefined, ci: readonly [number, number], writerSaid: boolean): boolean =>
  writerSaid && isSignificantDifference(ci[0], ci[1], pAdj ?? p);

/** A comparison (any stat) as a cost row; `authCostRows` uses only the p50 ones. */
export function fromComparison(c: Comparison): CostRow {
  return {
    scenario: c.scenario,
    baseline: c.baseline,
    candidate: c.candidate,
    estimator: 'end-to-end',
    unit: 'us',
    delta: c.deltaUs,
    ci95: c.ci95Us,
    resolution: (c.ci95Us[1] - c.ci95Us[0]) / 2,
    pValue: c.pValue,
    ...(c.pAdjusted === undefined ? {} : { pAdjusted: c.pAdjusted }),
    significant: judged(c.pValue, c.pAdjusted, c.ci95Us, c.significant),
    ...(c.n === undefined ? {} : { n: c.n }),
  };
}

export function fromEstimate(e: Estimate): CostRow {
  return {
    scenario: e.scenario,
    baseline: e.baseline,
    candidate: e.candidate,
    estimator: e.estimator,
    unit: e.unit,
    delta: e.delta,
    ci95: e.ci95,
    resolution: (e.ci95[1] - e.ci95[0]) / 2,
    pValue: e.pValue,
    ...(e.pAdjusted === undefined ? {} : { pAdjusted: e.pAdjusted }),
    significant: judged(e.pValue, e.pAdjusted, e.ci95, e.significant),
    n: e.n,
  };
}

/**
 * Every auth-cost row of a study, grouped by scenario and comparison in the order estimates were
 * written: the in-band and CPU estimates, then the end-to-end p50 comparison of the same modes.
 */
export function authCostRows(results: Results): CostRow[] {
  const estimates = results.estimates ?? [];
  const rows: CostRow[] = [];
  const keys = [...new Set(estimates.map((e) => `${e.scenario}\u0000${e.baseline}\u0000${e.candidate}`))];
  for (const key of keys) {
    const [scenario, baseline, candidate] = key.split('\u0000') as [string, string, string];
    rows.push(
      ...estimates.filter((e) => e.scenario === scenario && e.baseline === baseline && e.candidate === candidate).map(fromEstimate),
    );
    const e2e = results.comparisons.find(
      (c) => c.scenario === scenario && c.baseline === baseline && c.candidate === candidate && c.stat === 'p50',
    );
    if (e2e) rows.push(fromComparison(e2e));
  }
  return rows;
}

/**
 * The latency estimate a finding leads with for one comparison: the most complete estimator whose
 * verdict is significant (in-sidecar time, then sign + verify, then end-to-end); when none is,
 * the one with the finest resolution, so the finding can say how small an effect was ruled out.
 */
export function leadingRow(rows: readonly CostRow[], unit: CostRow['unit'] = 'us'): CostRow | undefined {
  const mine = rows.filter((r) => r.unit === unit);
  for (const name of unit === 'us' ? PREFERENCE : CPU_PREFERENCE) {
    const r = mine.find((x) => x.estimator === name && x.significant);
    if (r) return r;
  }
  return [...mine].sort((a, b) => a.resolution - b.resolution)[0];
}

/** "+31 µs [26, 35] µs", or for CPU "+40 CPU µs/request (+0.040 vCPU per 1,000 req/s) [36, 44]". */
/** "[−38.5, 136.7]": a CPU CI with a true minus sign, as the µs ones have. */
const cpuCi = (ci: readonly [number, number]): string => `[${ci.map((v) => (v < 0 ? `−${-v}` : String(v))).join(', ')}]`;

export function formatCost(r: CostRow, withSign = r.significant): string {
  if (r.unit === 'cpu-us-per-request') {
    if (!withSign) return `n.s. ${cpuCi(r.ci95)} CPU µs/request`;
    const v = withSign ? `${r.delta > 0 ? '+' : r.delta < 0 ? '−' : ''}${Math.abs(r.delta)}` : 'n.s.';
    const vcpu = withSign
      ? ` (${r.delta > 0 ? '+' : r.delta < 0 ? '−' : ''}${(Math.abs(r.delta) / 1000).toFixed(3)} vCPU per 1,000 req/s)`
      : '';
    return `${v} CPU µs/request${vcpu} ${cpuCi(r.ci95)}`;
  }
  return `${withSign ? formatDeltaUs(r.delta) : 'n.s.'} ${formatCiUs(r.ci95[0], r.ci95[1])}`;
}

/** "±4.5 µs" or "±3.1 CPU µs/request": the resolution in the row's unit. */
export function formatResolution(r: CostRow): string {
  const v = Number(r.resolution.toPrecision(2));
  return `±${v} ${r.unit === 'us' ? 'µs' : 'CPU µs/request'}`;
}

/** Table cells: estimator, Δ, 95% CI, resolution, p, p (Holm), trials, verdict. */
export function costCells(r: CostRow): string[] {
  return [
    ESTIMATOR_LABEL[r.estimator],
    formatCost(r).split(' [')[0] as string,
    r.unit === 'us' ? formatCiUs(r.ci95[0], r.ci95[1]) : cpuCi(r.ci95),
    formatResolution(r),
    formatP(r.pValue),
    r.pAdjusted === undefined ? '—' : formatP(r.pAdjusted),
    r.n === undefined ? '—' : String(r.n),
    verdictWords(r),
  ];
}

/** "significant", "not significant after Holm's adjustment", or the effect size ruled out. */
function verdictWords(r: CostRow): string {
  if (r.significant) return 'significant';
  const ciExcludes = r.ci95[0] > 0 || r.ci95[1] < 0;
  if (ciExcludes && r.pValue < ALPHA && r.pAdjusted !== undefined && r.pAdjusted >= ALPHA)
    return `not significant after Holm's adjustment (more trials lower the exact p floor 2/2^n)`;
  if (ciExcludes) return `not significant (p ${formatP(r.pAdjusted ?? r.pValue)})`;
  return `no difference beyond ${formatResolution(r)}`;
}

/** An estimator's label without its parenthesised detail: "in-band: sign + verify stages". */
export const shortLabel = (e: CostEstimator): string => ESTIMATOR_LABEL[e].split(' (')[0] as string;

/** One sentence for Key findings: what the leading estimator found and which one it is. */
export function findingSentence(rows: readonly CostRow[]): string | null {
  const lead = leadingRow(rows);
  if (!lead) return null;
  const which = ESTIMATOR_LABEL[lead.estimator];
  const cpu = leadingRow(rows, 'cpu-us-per-request');
  // The rest, latency first, then CPU: each by its short name, with its resolution.
  const also = [...rows.filter((r) => r.unit === 'us'), ...rows.filter((r) => r.unit !== 'us')]
    .filter((r) => r !== lead && r !== cpu)
    .map((r) => `${shortLabel(r.estimator)}: ${formatCost(r)}, resolution ${formatResolution(r)}`);
  const head = lead.significant
    ? `${formatCost(lead)} per request, by ${which} (resolution ${formatResolution(lead)}, Holm-adjusted p ${formatP(lead.pAdjusted ?? lead.pValue)})`
    : lead.ci95[0] > 0 || lead.ci95[1] < 0
      ? `not significant after adjustment: ${formatCost(lead, false)} by ${which} (resolution ${formatResolution(lead)}, adjusted p ${formatP(lead.pAdjusted ?? lead.pValue)})`
      : `no cost resolved: within ${formatResolution(lead)} by ${which}`;
  const adjusted = lead.pAdjusted === undefined && lead.pValue < ALPHA ? ' (p not adjusted for multiplicity)' : '';
  const cpuPart = cpu ? `; CPU: ${formatCost(cpu)} by ${shortLabel(cpu.estimator)} (resolution ${formatResolution(cpu)})` : '';
  return `${head}${adjusted}${cpuPart}${also.length ? `. Also ${also.join('; ')}` : ''}.`;
}

/**
 * Server-Timing carries µs (3 decimals of ms), so in-band figures are whole µs: a CI is widened by
 * this much before asking whether it covers a known truth.
 */
export const IN_BAND_QUANTUM_US = 1;

/** Whether one estimator recovered an injected calibration wait: estimate, CI, covered or not. */
export interface CalibrationCheck {
  scenario: string;
  estimator: CostEstimator;
  row: CostRow;
  truthUs: number;
  /** The CI (widened by the unit's quantum for in-band) covers the truth. */
  covered: boolean;
}

/**
 * Per scenario and estimator, whether enforce − observe (whose true value is exactly the injected
 * busy-wait: both modes verify, only enforce waits) recovered `study.calibrateUs`. CPU too: the wait
 * is CPU time on the request path, so it should add the same µs of CPU per request.
 */
export function calibrationChecks(results: Results): CalibrationCheck[] {
  const truthUs = results.study.calibrateUs;
  if (truthUs === undefined) return [];
  return authCostRows(results)
    .filter((r) => r.baseline === 'observe' && r.candidate === 'enforce')
    .map((row) => {
      const slack = row.estimator.startsWith('in-band') ? IN_BAND_QUANTUM_US : 0;
      return {
        scenario: row.scenario,
        estimator: row.estimator,
        row,
        truthUs,
        covered: row.ci95[0] - slack <= truthUs && truthUs <= row.ci95[1] + slack,
      };
    });
}

/** "recovered", "missed", or "covers the truth but does not resolve it" (CI also spans 0). */
export function calibrationWords(c: CalibrationCheck): string {
  if (c.covered && c.row.significant) return 'recovered (significant, CI covers the truth)';
  if (c.covered && (c.row.ci95[0] > 0 || c.row.ci95[1] < 0)) return 'CI covers the truth, but not significant after Holm’s adjustment';
  if (c.covered) return 'not resolved (CI covers the truth but also 0)';
  return 'missed (CI excludes the truth)';
}

/** A/A: of the auth comparisons (observe/enforce vs off, all truly null), how many came out significant. */
export function aaFalsePositives(results: Results): { tests: number; significant: number } | null {
  if (!results.study.aa) return null;
  const rows = [
    ...results.comparisons.filter((c) => c.baseline === 'off' && c.candidate !== 'off').map(fromComparison),
    ...(results.estimates ?? []).filter((e) => e.baseline === 'off').map(fromEstimate),
  ];
  return { tests: rows.length, significant: rows.filter((r) => r.significant).length };
}
