import { readFile, writeFile } from 'node:fs/promises';
import { execTool, mustExec } from './exec.js';
import { NET } from './topology.js';

/**
 * Host sysctls that `up` or the components (kubelet, kube-proxy) may change; `up` records them and
 * `down` writes the recorded values back.
 */
export const TRACKED_SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
  'net/ipv4/conf/all/route_localnet',
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/netfilter/nf_conntrack_max',
  'net/netfilter/nf_conntrack_tcp_timeout_established',
  'net/netfilter/nf_conntrack_tcp_timeout_close_wait',
] as const;

export async function readSysctls(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of TRACKED_SYSCTLS) {
    try {
      out[key] = (await readFile(`/proc/sys/${key}`, 'utf8')).trim();
    } catch {
      // not on this kernel
    }
  }
  return out;
}

export async function setSysctl(key: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/${key}`, value);
}

/** Writes back recorded values that differ now; resolves the keys it changed. */
export async function restoreSysctls(saved: Record<string, string>): Promise<string[]> {
  const now = await readSysctls();
  const changed: string[] = [];
  for (const [key, value] of Object.entries(saved)) {
    if (now[key] !== undefined && now[key] !== value) {
      await setSysctl(key, value);
      changed.push(key);
    }
  }
  return changed;
}

export async function bridgeExists(): Promise<boolean> {
  return (await execTool('ip', ['link', 'show', NET.bridge])).code === 0;
}

/**
 * Creates the pod bridge with the node IP (it exists before the apiserver binds that address), and
 * routes the Service range to it: a ClusterIP kube-proxy has not programmed yet must dead-end on the
 * bridge, not follow the default route off the machine. The route goes with the bridge.
 */
export async function createBridge(): Promise<void> {
  await mustExec('ip', ['link', 'add', NET.bridge, 'type', 'bridge']);
  await mustExec('ip', ['addr', 'add', `${NET.nodeIp}/${NET.podCidr.split('/')[1]}`, 'dev', NET.bridge]);
  await mustExec('ip', ['link', 'set', NET.bridge, 'up']);
  await mustExec('ip', ['route', 'add', NET.serviceCidr, 'dev', NET.bridge]);
}

export async function deleteBridge(): Promise<void> {
  if (await bridgeExists()) await mustExec('ip', ['link', 'del', NET.bridge]);
}

/** Chain in the raw table that drops every packet from a pod not addressed to the pod or Service range. */
export const GUARD_CHAIN = 'AUTHLAB-KUBE-GUARD';

/**
 * Installs {@link GUARD_CHAIN}: pods may reach pod and Service addresses (the node IP is in the pod
 * range) and nothing else. It sits in raw PREROUTING, before any accept rule kube-router or
 * kube-proxy adds to the filter table, so no policy can open a way out of the sandbox.
 */
export async function installGuard(): Promise<void> {
  await mustExec('iptables', ['-t', 'raw', '-N', GUARD_CHAIN]);
  await mustExec('iptables', ['-t', 'raw', '-A', GUARD_CHAIN, '-d', NET.podCidr, '-j', 'RETURN']);
  await mustExec('iptables', ['-t', 'raw', '-A', GUARD_CHAIN, '-d', NET.serviceCidr, '-j', 'RETURN']);
  await mustExec('iptables', ['-t', 'raw', '-A', GUARD_CHAIN, '-j', 'DROP']);
  await mustExec('iptables', ['-t', 'raw', '-I', 'PREROUTING', '1', '-i', NET.bridge, '-j', GUARD_CHAIN]);
}

/** Chain names the cluster's components create: kube-proxy and kubelet (KUBE-*), kube-router (KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*), CNI plugins (CNI-*) and ours. */
export const CHAIN_PATTERN = /^(KUBE-|CNI-|AUTHLAB-KUBE-)/;
/** ipsets kube-router makes. */
export const IPSET_PATTERN = /^(KUBE-|kube-router-)/;
const TABLES = ['filter', 'nat', 'mangle', 'raw'] as const;

/** Chains matching {@link CHAIN_PATTERN} per `<tool>/<table>`, e.g. `iptables/nat: KUBE-SERVICES`. */
export async function listOwnChains(): Promise<string[]> {
  const found: string[] = [];
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of TABLES) {
      const r = await execTool(`${tool}-save`, ['-t', table]);
      if (r.code !== 0) continue;
      for (const m of r.stdout.matchAll(/^:(\S+)/gm)) if (CHAIN_PATTERN.test(m[1]!)) found.push(`${tool}/${table}: ${m[1]}`);
    }
  }
  return found;
}

/**
 * Removes every rule that jumps to one of our chains from the built-in chains, then flushes and
 * deletes those chains, in iptables and ip6tables, all four tables. Resolves the chains removed.
 */
export async function removeOwnChains(): Promise<string[]> {
  const removed: string[] = [];
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of TABLES) {
      const r = await execTool(`${tool}-save`, ['-t', table]);
      if (r.code !== 0) continue;
      const chains = [...r.stdout.matchAll(/^:(\S+)/gm)].map((m) => m[1]!).filter((c) => CHAIN_PATTERN.test(c));
      if (!chains.length) continue;
      // Rules anywhere (built-in or foreign chains) that jump to ours go first, or -X refuses.
      for (const line of r.stdout.split('\n')) {
        const m = /^-A (\S+) (.*)$/.exec(line);
        if (!m || CHAIN_PATTERN.test(m[1]!)) continue;
        if (!chains.some((c) => new RegExp(`-[jg] ${c}(\\s|$)`).test(m[2]!))) continue;
        await execTool(tool, ['-t', table, '-D', m[1]!, ...splitRule(m[2]!)]);
      }
      for (const c of chains) await execTool(tool, ['-t', table, '-F', c]);
      for (const c of chains) {
        const x = await execTool(tool, ['-t', table, '-X', c]);
        if (x.code === 0) removed.push(`${tool}/${table}: ${c}`);
      }
    }
  }
  return removed;
}

/** Splits an iptables-save rule into argv, keeping double-quoted comments whole. */
export function splitRule(rule: string): string[] {
  const out: string[] = [];
  for (const m of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!);
  return out;
}

export async function listOwnIpsets(): Promise<string[]> {
  const r = await execTool('ipset', ['list', '-n']);
  if (r.code !== 0) return [];
  return r.stdout.split('\n').filter((s) => IPSET_PATTERN.test(s));
}

/** Destroys kube-router's ipsets (after the rules that use them are gone). */
export async function removeOwnIpsets(): Promise<string[]> {
  const removed: string[] = [];
  const sets = await listOwnIpsets();
  for (const s of sets) await execTool('ipset', ['flush', s]);
  for (const s of sets) if ((await execTool('ipset', ['destroy', s])).code === 0) removed.push(s);
  return removed;
}

/** `nft list tables` as `<family> <name>` lines (iptables-nft keeps its tables there). */
export async function listNftTables(): Promise<string[]> {
  const r = await execTool('nft', ['list', 'tables']);
  if (r.code !== 0) return [];
  return [...r.stdout.matchAll(/^table (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
}

interface NftItem {
  chain?: { hook?: string; policy?: string };
  rule?: unknown;
  set?: unknown;
  map?: unknown;
}

/**
 * Deletes the nf_tables tables that did not exist before `up` (kubelet, kube-proxy and our guard make
 * `iptables -t mangle|raw|nat|filter` create them on a fresh host) once they are empty again: only
 * base chains with policy accept, no rule, no set. Such a table changes nothing, but it was not there
 * before, and `down` puts the host back as it was. A table that still holds anything is left alone.
 */
export async function removeEmptyNewTables(before: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const t of await listNftTables()) {
    if (before.includes(t)) continue;
    const [family, name] = t.split(' ') as [string, string];
    if (!['ip', 'ip6'].includes(family) || !(TABLES as readonly string[]).includes(name)) continue;
    const r = await execTool('nft', ['-j', 'list', 'table', family, name]);
    if (r.code !== 0) continue;
    let items: NftItem[];
    try {
      items = (JSON.parse(r.stdout) as { nftables: NftItem[] }).nftables;
    } catch {
      continue;
    }
    const empty = items.every((i) => !i.rule && !i.set && !i.map && (!i.chain || (i.chain.hook && i.chain.policy === 'accept')));
    if (empty && (await execTool('nft', ['delete', 'table', family, name])).code === 0) removed.push(t);
  }
  return removed;
}
