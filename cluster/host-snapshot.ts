import { readdir, readFile } from 'node:fs/promises';
import { execTool } from './exec.js';
import { existingHostDirs, kubepodsCgroups, mountPoints, netnsEntries } from './host-cleanup.js';
import { readSysctls } from './host-net.js';

/**
 * The host state a cluster touches, in comparable form: `down` must bring every field back to what it
 * was before `up` (the teardown test compares two snapshots).
 */
export interface HostSnapshot {
  /** `comm` of processes that look like a cluster's (kube*, etcd, containerd*, runc, pause). */
  processes: string[];
  /** iptables-save and ip6tables-save of all tables, without counters and comments. */
  iptables: string[];
  ipsets: string[];
  links: string[];
  routes: string[];
  mounts: string[];
  netns: string[];
  sysctls: Record<string, string>;
  hostDirs: string[];
  cgroups: string[];
}

const CLUSTER_COMM = /^(kube|etcd|containerd|runc|pause)/;

async function clusterLikeProcesses(): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = await readFile(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // A zombie has exited; it only waits for its (re)parent, here often a slow init, to reap it.
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
      if (CLUSTER_COMM.test(comm) && state !== 'Z') out.push(`${d} ${comm}`);
    } catch {
      // exited meanwhile
    }
  }
  return out.sort();
}

async function iptablesLines(): Promise<string[]> {
  const out: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const r = await execTool(tool, []);
    for (const l of r.stdout.split('\n')) {
      if (!l || l.startsWith('#')) continue;
      out.push(`${tool}: ${l.replace(/\s\[\d+:\d+\]$/, '')}`);
    }
  }
  return out;
}

export async function hostSnapshot(): Promise<HostSnapshot> {
  const ipsets = await execTool('ipset', ['list', '-n']);
  const links = await execTool('ip', ['-o', 'link', 'show']);
  return {
    processes: await clusterLikeProcesses(),
    iptables: await iptablesLines(),
    ipsets: ipsets.stdout.split('\n').filter(Boolean).sort(),
    links: [...links.stdout.matchAll(/^\d+: ([^:@]+)/gm)].map((m) => m[1]!).sort(),
    routes: (await execTool('ip', ['route', 'show', 'table', 'all'])).stdout.split('\n').filter(Boolean).sort(),
    mounts: (await mountPoints()).sort(),
    netns: (await netnsEntries()).sort(),
    sysctls: await readSysctls(),
    hostDirs: await existingHostDirs(),
    cgroups: (await kubepodsCgroups()).sort(),
  };
}

/** Lines describing how `after` differs from `before` (empty when equal). */
export function diffSnapshots(before: HostSnapshot, after: HostSnapshot): string[] {
  const diffs: string[] = [];
  for (const key of Object.keys(before) as (keyof HostSnapshot)[]) {
    const a = before[key];
    const b = after[key];
    if (Array.isArray(a) && Array.isArray(b)) {
      for (const x of b) if (!a.includes(x)) diffs.push(`${key}: + ${x}`);
      for (const x of a) if (!b.includes(x)) diffs.push(`${key}: - ${x}`);
    } else {
      const ra = a as Record<string, string>;
      const rb = b as Record<string, string>;
      for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)]))
        if (ra[k] !== rb[k]) diffs.push(`${key}: ${k} ${ra[k]} -> ${rb[k]}`);
    }
  }
  return diffs;
}
