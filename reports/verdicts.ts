import { formatCiUs, formatDeltaUs, formatP, verdictSentence } from './format.js';
import type { Comparison } from '../results/schema.js';
import { ALPHA, ciExcludesZero, isSignificantDifference } from '../results/stats/index.js';

const COMPARISON_LABEL: Record<string, string> = {
  'off→enforce': 'auth overhead (enforce − off)',
  'off→observe': 'dry-run overhead (observe − off)',
  'direct→off': 'sidecar path overhead (off − direct)',
};

/** What a comparison measures, in words. */
export function comparisonLabel(c: Comparison): string {
  return COMPARISON_LABEL[`${c.baseline}→${c.candidate}`] ?? `${c.candidate} − ${c.baseline}`;
}

/**
 * Significant by the shared rule (CI excludes zero and p < 0.05, on the Holm-adjusted p when the study
 * recorded one), re-checked here because a results.json written by another tool may have judged by
 * the CI alone; a comparison its writer called not significant stays so.
 */
export function isSignificant(c: Comparison): boolean {
  return c.significant !== false && isSignificantDifference(c.ci95Us[0], c.ci95Us[1], c.pAdjusted ?? c.pValue);
}

/** Smallest two-sided p an exact signed-rank test can reach with n paired trials. */
const minSignedRankP = (n: number): number => 2 ** (1 - n);

/**
 * The plain-language verdict: "enforce adds 31 µs at p50 [24, 39] µs" or "no significant difference
 * at p50", saying why when the number of trials could not have shown a difference.
 */
export function comparisonVerdict(c: Comparison): string {
  if (isSignificant(c)) return verdictSentence(c.candidate, c.stat, c.deltaUs, c.ci95Us, true);
  const base = `no significant difference at ${c.stat}`;
  if (c.n !== undefined && ciExcludesZero(c.ci95Us) && minSignedRankP(c.n) >= ALPHA) {
    return `${base} (only ${c.n} trials: p cannot go below ${formatP(minSignedRankP(c.n))}; use ≥ 6)`;
  }
  if (ciExcludesZero(c.ci95Us) && c.pValue < ALPHA && c.pAdjusted !== undefined && c.pAdjusted >= ALPHA) {
    return `${base} after Holm's adjustment (raw p ${formatP(c.pValue)}, adjusted ${formatP(c.pAdjusted)})`;
  }
  return base;
}

/**
 * The cells every verdict table shows for a comparison, in order: what, stat, Δ (a signed number only
 * when significant), 95% CI, raw p, Holm-adjusted p ("—" when not recorded), trials. report.html and
 * summary.md add their own scenario and verdict cells.
 */
export function comparisonCells(c: Comparison): [string, string, string, string, string, string, string] {
  return [
    comparisonLabel(c),
    c.stat,
    isSignificant(c) ? formatDeltaUs(c.deltaUs) : 'n.s.',
    formatCiUs(c.ci95Us[0], c.ci95Us[1]),
    formatP(c.pValue),
    c.pAdjusted !== undefined ? formatP(c.pAdjusted) : '—',
    c.n !== undefined ? String(c.n) : '—',
  ];
}
