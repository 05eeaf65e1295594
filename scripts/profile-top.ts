/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by package/file,
 * top N, as a share of the sampled time. `npx tsx scripts/profile-top.ts <file.cpuprofile> [N]`.
 */
import { selfTimes } from './cpuprofile.js';

const file = process.argv[2];
const top = Number(process.argv[3] ?? 25);
if (!file) {
  console.error('usage: npx tsx scripts/profile-top.ts <file.cpuprofile> [N]');
  process.exit(2);
}
const { fns, pkgs, busy, idle } = await selfTimes(file);
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (share of busy time ${(busy / 1e6).toFixed(2)} s; idle ${(idle / 1e6).toFixed(2)} s)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`);
  }
};
print('self time by package/file', pkgs);
print('self time by function', fns);
