import type { RunMode } from '../../system/protocol/modes.js';
import type { DesignName } from '../../results/schema.js';
import { mulberry32 } from '../../results/stats/index.js';
import { randomLatinSquare, shuffled } from './latin-square.js';

/** One target of a step: pair `pair` (1-based) runs in `mode`. */
export interface Assignment {
  pair: number;
  mode: RunMode;
}

/** One trial: steps run one after another; the assignments of a step run at the same time. */
export interface TrialPlan {
  /** 1-based. */
  trial: number;
  steps: Assignment[][];
}

export interface DesignOptions {
  design: DesignName;
  pairs: number;
  trials: number;
  modes: readonly RunMode[];
  seed: number;
}

/**
 * The trial plan of one scenario.
 * - `interleaved`: every trial runs all pairs at once, pair→mode by a row of a randomized Latin
 *   square (pairs beyond the square's order wrap around). Trials come in blocks of `modes.length`
 *   rows, each block a freshly randomized square, so any complete block is balanced. With fewer
 *   pairs than modes a trial covers `pairs` modes and the rotation covers the rest across the block.
 * - `sequential`: pair 1 only; each trial runs every mode once, one after another, in a shuffled order.
 * The same seed yields the same plan.
 */
export function planTrials(o: DesignOptions): TrialPlan[] {
  if (!Number.isInteger(o.trials) || o.trials < 1) throw new RangeError(`trials must be a positive integer (got ${o.trials})`);
  if (!Number.isInteger(o.pairs) || o.pairs < 1) throw new RangeError(`pairs must be a positive integer (got ${o.pairs})`);
  if (o.modes.length === 0) throw new RangeError('a design needs at least one mode');
  const rand = mulberry32(o.seed);
  const m = o.modes.length;
  const plans: TrialPlan[] = [];
  if (o.design === 'sequential') {
    for (let t = 1; t <= o.trials; t++) {
      plans.push({ trial: t, steps: shuffled(o.modes, rand).map((mode) => [{ pair: 1, mode }]) });
    }
    return plans;
  }
  let square: number[][] = [];
  for (let t = 1; t <= o.trials; t++) {
    const row = (t - 1) % m;
    if (row === 0) square = randomLatinSquare(m, rand);
    const symbols = square[row] as number[];
    const step: Assignment[] = [];
    for (let pair = 1; pair <= o.pairs; pair++) {
      step.push({ pair, mode: o.modes[symbols[(pair - 1) % m] as number] as RunMode });
    }
    plans.push({ trial: t, steps: [step] });
  }
  return plans;
}
