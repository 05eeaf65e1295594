/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by package/file,
 * top N, as a share of the sampled time. `npx tsx scripts/profile-top.ts <file.cpuprofile> [N]`.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
const top = Number(process.argv[3] ?? 25);
if (!file) {
  console.error('usage: npx tsx scripts/profile-top.ts <file.cpuprofile> [N]');
  process.exit(2);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const where = (url: string): string => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url;
  const s = url.replace(/^file:\/\//, '');
  const i = s.search(/\/(system|runner|results)\//);
  return i >= 0 ? s.slice(i + 1) : s || '(native)';
};
const fns = new Map<string, number>();
const pkgs = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const name = n.callFrame.functionName || '(anonymous)';
  total += us;
  if (name === '(idle)') idle += us;
  const key = `${name}  ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  const p = n.callFrame.url ? where(n.callFrame.url) : name;
  pkgs.set(p, (pkgs.get(p) ?? 0) + us);
}
const busy = total - idle;
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (share of busy time ${(busy / 1e6).toFixed(2)} s; idle ${(idle / 1e6).toFixed(2)} s)`);
  for (const [k, us] of [...m]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`);
  }
};
print('self time by package/file', pkgs);
print('self time by function', fns);
