import { mulberry32 } from '../../results/stats/index.js';
import type { EngineRequest } from './types.js';

/**
 * Expands a weighted mix into a shuffled cycle of bodies of length `length`, counts proportional to
 * weight (largest remainder), so a closed-loop connection that cycles through it sends the exact mix.
 *
 * @param seed shuffle seed; each connection gets a different one so they are not in lock-step.
 */
export function mixCycle(requests: readonly EngineRequest[], length: number, seed: number): string[] {
  if (requests.length === 0) throw new RangeError('a run needs at least one request body');
  const total = requests.reduce((s, r) => s + r.weight, 0);
  if (!(total > 0)) throw new RangeError('request weights must sum to a positive number');
  const exact = requests.map((r) => (r.weight / total) * length);
  const counts = exact.map(Math.floor);
  let missing = length - counts.reduce((s, c) => s + c, 0);
  const byRemainder = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of byRemainder) {
    if (missing-- <= 0) break;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const cycle: string[] = [];
  requests.forEach((r, i) => {
    for (let k = 0; k < (counts[i] ?? 0); k++) cycle.push(r.body);
  });
  const rand = mulberry32(seed);
  for (let i = cycle.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [cycle[i], cycle[j]] = [cycle[j] as string, cycle[i] as string];
  }
  return cycle;
}

/** A cycle length that represents every weight at least once for mixes like 90/10 or 1:1:…:1. */
export function cycleLength(requests: readonly EngineRequest[]): number {
  const total = requests.reduce((s, r) => s + r.weight, 0);
  const smallest = Math.min(...requests.map((r) => r.weight));
  return Math.min(1000, Math.max(requests.length, Math.ceil(total / smallest)));
}
