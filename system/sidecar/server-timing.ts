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
 * One request in this many (at least), per sidecar, has the CPU of its auth stage measured, at a random
 * place in each block ({@link CpuStage}). Reading the process CPU clock is not free on the request
 * path: when a request wakes an idle sidecar, the first `process.cpuUsage()` costs 9–16 µs here (cold
 * kernel and V8 paths; 2 µs warm), and four per request added ~20 µs to the in-sidecar time of every
 * auth request in a quick study. Sampling keeps that cost off most requests, and the engines leave a
 * response that carries a CPU entry out of every wall-clock stage figure (runner/engines/histogram.ts),
 * so the in-band time estimators never see it.
 */
export const CPU_SAMPLE_EVERY = 8;

/**
 * At most about this many measured requests per second per stage: above 400 req/s the blocks grow
 * (one per block still), so a sidecar at saturation does not pay the reads on one request in eight.
 * A profile of `bench:sidecar` (enforce, ~4,000 req/s) put 1.4 % of the sidecar's busy time in them,
 * most in the discarded cold read; a study's 100 req/s per pair keeps blocks of 8.
 */
export const CPU_SAMPLES_PER_S = 50;

/** The largest block: one measured request in this many, however fast the requests come. */
const MAX_BLOCK = 4096;

/**
 * Says which requests a sidecar measures — exactly one in each block of {@link CPU_SAMPLE_EVERY}
 * requests (more at high rates: {@link CPU_SAMPLES_PER_S}), at a random place in the block — and reads
 * the stage's CPU: {@link CpuStage.start} before the stage, {@link CpuStage.ms} after it.
 *
 * Why not simply every 8th request: the light scenario's 4 paced connections arrive in a fixed order,
 * so every 8th request is always the same connection's, and whether that connection's request finds
 * the sidecar warm (just after another's) or cold is fixed for a whole run by the connections' random
 * phases. A full study at every-8th showed it: in a quarter of the runs both sidecars of the pair read
 * ~5 (sign) and ~15 (verify) CPU µs less than in the rest, while their wall-clock stages did not move,
 * and that split made most of the estimator's CI width. A random place in each block samples every
 * connection alike, and the count stays exact (one per block).
 */
export class CpuStage {
  private n = 0;
  private size = CPU_SAMPLE_EVERY;
  private pick: number;
  private blockStartMs: number;

  /**
   * @param rand uniform [0, 1) source for the place of the measured request in each block
   * @param nowMs monotonic clock, ms (the block size follows the request rate it measures)
   */
  constructor(
    private readonly rand: () => number = Math.random,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.pick = this.place();
    this.blockStartMs = nowMs();
  }

  private place(): number {
    return Math.min(this.size - 1, Math.floor(this.rand() * this.size));
  }

  /** Requests per block: the last block's rate over {@link CPU_SAMPLES_PER_S}, never under 8. */
  blockSize(): number {
    return this.size;
  }

  /**
   * Whether to measure this request: if so, the stage's CPU origin, µs (the clock at its start plus
   * one warm read's cost, so that nothing is shared between requests); else -1.
   */
  start(): number {
    const measure = this.n === this.pick;
    if (++this.n === this.size) {
      const now = this.nowMs();
      const perS = (this.size * 1000) / Math.max(now - this.blockStartMs, 1e-3);
      this.size = Math.min(MAX_BLOCK, Math.max(CPU_SAMPLE_EVERY, Math.ceil(perS / CPU_SAMPLES_PER_S)));
      this.blockStartMs = now;
      this.n = 0;
      this.pick = this.place();
    }
    if (!measure) return -1;
    // The first read after a wake-up takes the cold path's cost; the next two are warm. The window
    // from one reading to the next holds the tail of one read and the head of the next — one read's
    // cost, as the stage's window does — so the empty one's width is taken off the stage's.
    process.cpuUsage();
    const a = cpuNowUs();
    const b = cpuNowUs();
    return b + (b - a);
  }

  /** The CPU ms of the stage since `start()`, or -1 when this request is not measured. */
  ms(originUs: number): number {
    return originUs < 0 ? -1 : Math.max(0, cpuNowUs() - originUs) / 1000;
  }
}

/**
 * CPU time this process has used so far, µs (user + system, all threads). `process.cpuUsage()` is
 * exact to the µs on Linux (getrusage(RUSAGE_SELF) brings the running thread's runtime up to date),
 * where `process.threadCpuUsage()` only moves in scheduler ticks (4 ms here) and cannot time a stage.
 * One call costs 1–2 µs warm and 9–16 µs as the first after a wake-up ({@link CpuStage} takes both
 * off). Other threads (GC helpers, the libuv pool) count too while they run inside the window, which a
 * per-run median shrugs off.
 */
export function cpuNowUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
