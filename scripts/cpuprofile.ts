/**
 * Self time of a V8 `.cpuprofile` (from `node --cpu-prof`) by function and by package/file: what
 * scripts/profile-top.ts prints as shares and scripts/profile-diff.ts divides per request.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimes {
  /** `name  where:line` → µs of self time. */
  fns: Map<string, number>;
  /** package (node_modules), node: module, or our file → µs of self time. */
  pkgs: Map<string, number>;
  /** µs sampled, not idle. */
  busy: number;
  idle: number;
}

/** Where a call frame's code lives: its npm package, its node: module, or its path from system/runner/results. */
function where(url: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url;
  const s = url.replace(/^file:\/\//, '');
  const i = s.search(/\/(system|runner|results)\//);
  return i >= 0 ? s.slice(i + 1) : s || '(native)';
}

/** Reads `file` and sums each sample's time delta into the function and the package it was taken in. */
export async function selfTimes(file: string): Promise<SelfTimes> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fns = new Map<string, number>();
  const pkgs = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]!)!;
    const us = profile.timeDeltas[i] ?? 0;
    const name = n.callFrame.functionName || '(anonymous)';
    total += us;
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    const key = `${name}  ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const p = n.callFrame.url ? where(n.callFrame.url) : name;
    pkgs.set(p, (pkgs.get(p) ?? 0) + us);
  }
  return { fns, pkgs, busy: total - idle, idle };
}
