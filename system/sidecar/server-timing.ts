/**
 * `Server-Timing` value from stage durations in ms, with µs precision (`verify;dur=0.012`).
 * Stages with a negative duration (not run) are left out. Built by concatenation: no array, no map.
 */
export function serverTiming(verifyMs: number, dbMs: number, upstreamMs: number, signMs: number, totalMs: number): string {
  let s = '';
  if (verifyMs >= 0) s += `verify;dur=${verifyMs.toFixed(3)}, `;
  if (signMs >= 0) s += `sign;dur=${signMs.toFixed(3)}, `;
  if (upstreamMs >= 0) s += `upstream;dur=${upstreamMs.toFixed(3)}, `;
  if (dbMs >= 0) s += `db;dur=${dbMs.toFixed(3)}, `;
  return s + `total;dur=${totalMs.toFixed(3)}`;
}
