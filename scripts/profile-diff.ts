/**
 * Two V8 `.cpuprofile`s of the same process under two conditions, compared **per request**: self time
 * by package/file and by function, each divided by the requests its profile covers, B − A, largest
 * differences first. The way to see a few µs per request that throughput on a noisy host cannot
 * resolve (e.g. `npm run bench:overhead -- --mode off --cpu-prof A` and `--mode enforce --cpu-prof B`,
 * which print the requests their profiles cover).
 * `npx tsx scripts/profile-diff.ts <a.cpuprofile> <requests in a> <b.cpuprofile> <requests in b> [N]`
 */
import { selfTimes } from './cpuprofile.js';

const [fileA, nA, fileB, nB, topArg] = process.argv.slice(2);
const requestsA = Number(nA);
const requestsB = Number(nB);
const top = Number(topArg ?? 20);
if (!fileA || !fileB || !(requestsA > 0) || !(requestsB > 0) || !(top > 0)) {
  console.error('usage: npx tsx scripts/profile-diff.ts <a.cpuprofile> <requests in a> <b.cpuprofile> <requests in b> [N]');
  process.exit(2);
}
const [a, b] = await Promise.all([selfTimes(fileA), selfTimes(fileB)]);
const f = (x: number) => x.toFixed(2);
console.log(
  `busy µs per request: A ${f(a.busy / requestsA)}, B ${f(b.busy / requestsB)}, B − A ${f(b.busy / requestsB - a.busy / requestsA)}`,
);
const print = (title: string, ma: Map<string, number>, mb: Map<string, number>) => {
  console.log(`\n${title}: B − A µs per request (A → B)`);
  const rows = [...new Set([...ma.keys(), ...mb.keys()])].map((k) => {
    const va = (ma.get(k) ?? 0) / requestsA;
    const vb = (mb.get(k) ?? 0) / requestsB;
    return { k, va, vb, d: vb - va };
  });
  for (const r of rows.sort((x, y) => Math.abs(y.d) - Math.abs(x.d)).slice(0, top)) {
    console.log(`${(r.d >= 0 ? '+' : '') + f(r.d)}`.padStart(8) + `  (${f(r.va)} → ${f(r.vb)})  ${r.k}`);
  }
};
print('self time by package/file', a.pkgs, b.pkgs);
print('self time by function', a.fns, b.fns);
