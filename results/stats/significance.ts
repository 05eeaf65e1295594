/** Two-sided level the rank test must reach for a difference to be called significant. */
export const ALPHA = 0.05;

/** Whether a CI [lo, hi] excludes zero; alone it decides only where no rank test exists (replication). */
export function ciExcludesZero(ci: readonly [number, number]): boolean {
  return ci[0] > 0 || ci[1] < 0;
}

/**
 * The one significance rule of authlab (study comparisons, report verdicts, `compare`): the 95% CI
 * excludes zero AND the rank test agrees (p < ALPHA). With very few trials a percentile bootstrap
 * excludes zero whenever all differences share a sign (3 trials: 1 in 4 by chance alone), so the CI
 * alone would overclaim; the rank test's exact p guards against that.
 */
export function isSignificantDifference(ciLo: number, ciHi: number, pValue: number): boolean {
  return ciExcludesZero([ciLo, ciHi]) && pValue < ALPHA;
}
