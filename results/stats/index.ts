/**
 * Statistics for per-run latency figures: seeded bootstrap CIs of medians and two-sided rank tests.
 * The unit of analysis is a run (or trial), never a single request (docs/DESIGN.md §3 "Study design").
 */
export { mulberry32 } from './prng.js';
export { bootstrapMedianCI, bootstrapMedianDiffCI } from './bootstrap.js';
export type { BootstrapOptions, Estimate } from './bootstrap.js';
export { signedRankTest } from './signed-rank.js';
export type { RankTestResult } from './signed-rank.js';
export { rankSumTest } from './rank-sum.js';
export { ALPHA, ciExcludesZero, isSignificantDifference } from './significance.js';
export { holmAdjust, trialsForFamily } from './holm.js';
export { checkTarget, describeInterval, describeTarget } from './target.js';
export type { TargetBound, TargetCheck, TargetVerdict } from './target.js';
