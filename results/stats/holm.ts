/**
 * Holm's step-down adjustment of a family of p-values (Holm 1979), as R's `p.adjust(p, "holm")`:
 * sort ascending, multiply the i-th smallest (0-based) by (m − i), enforce monotonicity, cap at 1.
 * Comparing the adjusted p with α controls the family-wise error rate — the chance of even one false
 * "significant" line in a report — under any dependence between the tests. A study's comparisons
 * share runs (enforce − off and observe − off share the off runs), so a method that assumes
 * independence, or Benjamini–Hochberg's false-discovery rate (which tolerates some false lines),
 * would not give the guarantee a report reader assumes when a line is shown as significant.
 *
 * @returns adjusted p-values in the order of `pValues`.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}

/**
 * Fewest paired trials for which an exact two-sided signed-rank test can still pass Holm's first
 * (strictest) threshold α / m: its smallest p is 2 / 2^n, so n must satisfy 2 / 2^n < α / m.
 */
export function trialsForFamily(m: number, alpha = 0.05): number {
  let n = 1;
  while (2 / 2 ** n >= alpha / Math.max(1, m)) n++;
  return n;
}
