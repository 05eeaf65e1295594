/**
 * `Server-Timing` value from stage durations in ms, with µs precision (`verify;dur=0.012`).
 * Stages with a negative duration (not run) are left out. Built by concatenation: no array, no map.
 *
 * `verify-cpu` / `sign-cpu` are not wall-clock stages: they carry the CPU time the process spent in
 * the verify / sign stage (see {@link cpuNowUs}), in ms like the others, so a per-request auth CPU
 * cost is read from the same header as its time.
 */
export function serverTiming(
  verifyMs: number,
  dbMs: number,
  upstreamMs: number,
  signMs: number,
  totalMs: number,
  verifyCpuMs = -1,
  signCpuMs = -1,
): string {
  let s = '';
  if (verifyMs >= 0) s += `verify;dur=${verifyMs.toFixed(3)}, `;
  if (verifyCpuMs >= 0) s += `verify-cpu;dur=${verifyCpuMs.toFixed(3)}, `;
  if (signMs >= 0) s += `sign;dur=${signMs.toFixed(3)}, `;
  if (signCpuMs >= 0) s += `sign-cpu;dur=${signCpuMs.toFixed(3)}, `;
  if (upstreamMs >= 0) s += `upstream;dur=${upstreamMs.toFixed(3)}, `;
  if (dbMs >= 0) s += `db;dur=${dbMs.toFixed(3)}, `;
  return s + `total;dur=${totalMs.toFixed(3)}`;
}

/**
 * CPU time this process has used so far, µs (user + system, all threads). `process.cpuUsage()` is
 * exact to the µs on Linux (getrusage(RUSAGE_SELF) brings the running thread's runtime up to date),
 * where `process.threadCpuUsage()` only moves in scheduler ticks (4 ms here) and cannot time a stage.
 * One call costs about 1 µs; a stage reads it twice. Other threads (GC helpers, the libuv pool) count
 * too while they run inside the window, which a per-run median shrugs off.
 */
export function cpuNowUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
