/**
 * mulberry32: a small, fast 32-bit seeded PRNG. Good enough for resampling (not for crypto);
 * chosen because a study must be replayable bit-for-bit from its seed.
 *
 * @param seed any integer; the same seed yields the same sequence on every platform.
 * @returns a function returning uniform floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
