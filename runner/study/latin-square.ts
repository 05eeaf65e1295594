/**
 * Latin squares for the trial plan: every symbol (mode) once per row (trial) and once per column
 * (pair), so over a complete square each pair runs each mode once and pair effects cancel.
 */

/** Cyclic Latin square of order n: `square[row][column] = (row + column) mod n`. */
export function cyclicLatinSquare(n: number): number[][] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`order must be a positive integer (got ${n})`);
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => (r + c) % n));
}

/** Fisher–Yates shuffle driven by `rand` (uniform in [0, 1)); returns a new array. */
export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * A randomized Latin square of order n: the cyclic square with its rows, columns and symbols each
 * permuted by `rand`. Each permutation keeps the Latin property; together they remove the fixed
 * order of the rotation (mode k always following mode k−1) without losing balance.
 */
export function randomLatinSquare(n: number, rand: () => number): number[][] {
  const base = cyclicLatinSquare(n);
  const rows = shuffled(
    base.map((_, i) => i),
    rand,
  );
  const cols = shuffled(
    base.map((_, i) => i),
    rand,
  );
  const symbols = shuffled(
    base.map((_, i) => i),
    rand,
  );
  return rows.map((r) => cols.map((c) => symbols[(base[r] as number[])[c] as number] as number));
}

/** Whether `square` is a Latin square of order n over symbols 0..n−1. */
export function isLatinSquare(square: readonly (readonly number[])[]): boolean {
  const n = square.length;
  for (let i = 0; i < n; i++) {
    const row = new Set(square[i]);
    const col = new Set(square.map((r) => r[i]));
    if (square[i]?.length !== n || row.size !== n || col.size !== n) return false;
    for (const v of row) if (v === undefined || v < 0 || v >= n) return false;
  }
  return true;
}
