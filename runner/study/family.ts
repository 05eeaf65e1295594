import { holmAdjust, isSignificantDifference } from '../../results/stats/index.js';

/** What Holm's adjustment reads and writes on each member of a study's family of tests. */
export interface FamilyMember {
  pValue: number;
  /** The member's 95% CI, in its own unit. */
  ci95: readonly [number, number];
}

/**
 * Holm-adjusts every test a study reports a verdict on (docs/DESIGN.md §4 `pAdjusted`) and judges
 * each on its adjusted p: significant when its CI excludes 0 and the adjusted p < 0.05. One family per
 * study, so the chance of any false "significant" line in its report stays at most 5%.
 *
 * @returns per member, in order, the adjusted p and the verdict.
 */
export function judgeFamily(members: readonly FamilyMember[]): { pAdjusted: number; significant: boolean }[] {
  const adjusted = holmAdjust(members.map((m) => m.pValue));
  return members.map((m, i) => {
    const pAdjusted = adjusted[i] as number;
    return { pAdjusted, significant: isSignificantDifference(m.ci95[0], m.ci95[1], pAdjusted) };
  });
}
