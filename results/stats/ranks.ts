/** Midranks (1-based, ties share the average rank) and the tie group sizes of `values`. */
export function midranks(values: readonly number[]): { ranks: number[]; tieSizes: number[] } {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const ranks = new Array<number>(values.length).fill(0);
  const tieSizes: number[] = [];
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]!.v === order[start]!.v) end++;
    // Positions start..end (0-based) share ranks start+1..end+1, whose mean is below.
    const rank = (start + end + 2) / 2;
    for (let k = start; k <= end; k++) ranks[order[k]!.i] = rank;
    tieSizes.push(end - start + 1);
    start = end + 1;
  }
  return { ranks, tieSizes };
}

/** Σ (t³ − t) over tie groups: the variance correction term of both rank tests. */
export function tieTerm(tieSizes: readonly number[]): number {
  let s = 0;
  for (const t of tieSizes) s += t * t * t - t;
  return s;
}
