/**
 * Start-up to ready of the local platform: `npm run bench:startup -- [--pairs 4] [--repeats 3]`.
 * Prints each phase's time and the total per repeat, then the median; every platform is closed again.
 */
import { benchFlags } from '../../../system/runtime/bench-flags.js';
import { startLocalPlatform } from './index.js';

const flags = benchFlags('bench:startup', { numbers: { pairs: { default: 4, integer: true }, repeats: { default: 3, integer: true } } });
const { pairs, repeats } = flags.numbers;
const totals: number[] = [];
for (let i = 0; i < repeats; i++) {
  const t0 = performance.now();
  const platform = await startLocalPlatform({ pairs, log: (l) => console.log(`  [${Math.round(performance.now() - t0)} ms] ${l}`) });
  totals.push(platform.startupMs);
  console.log(
    '  milestones (ms):',
    Object.entries(platform.timings)
      .sort((a, b) => a[1] - b[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  );
  const c0 = performance.now();
  await platform.close();
  console.log(`run ${i + 1}: ${pairs} pairs ready in ${platform.startupMs} ms; close took ${Math.round(performance.now() - c0)} ms`);
}
totals.sort((a, b) => a - b);
console.log(
  `median start-up to ready, ${pairs} pairs, ${repeats} runs: ${totals[Math.floor(totals.length / 2)]} ms (min ${totals[0]}, max ${totals.at(-1)})`,
);
