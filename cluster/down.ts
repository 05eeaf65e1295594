import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isRunning, stopProcess } from './daemons.js';
import { execTool } from './exec.js';
import {
  HOST_DIRS,
  killPids,
  kubepodsCgroups,
  netnsEntries,
  pathExists,
  removeCgroupTree,
  removeOwnLogLinks,
  strayProcesses,
  unmountOwn,
} from './host-cleanup.js';
import { bridgeExists, deleteBridge, removeEmptyNewTables, removeOwnChains, removeOwnIpsets, restoreSysctls } from './host-net.js';
import { clusterPaths } from './paths.js';
import { readClusterState, type ClusterState } from './state.js';
import { NET } from './topology.js';

export interface DownOptions {
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** What `down` removed, for its summary line and the tests. */
export interface DownReport {
  /** False when there was no cluster and nothing of one on the host. */
  found: boolean;
  processes: number;
  chains: number;
  ipsets: number;
  mounts: number;
  ms: number;
}

/** Daemons stop in this order: node agents first (so nothing restarts pods), then the runtime, then the control plane. */
const STOP_ORDER = [
  'kube-router',
  'kube-proxy',
  'kubelet',
  'containerd',
  'coredns',
  'kube-scheduler',
  'kube-controller-manager',
  'kube-apiserver',
  'etcd',
];

async function ownerIsStartingUp(state: ClusterState): Promise<boolean> {
  if (state.status !== 'starting' || state.ownerPid === process.pid) return false;
  try {
    return (await readFile(`/proc/${state.ownerPid}/cmdline`, 'utf8')).includes('authlab');
  } catch {
    return false;
  }
}

/**
 * Removes everything `cluster up` made, by the record in the state file — also after a killed `up`:
 * every daemon by pid (SIGTERM, then SIGKILL), pod processes and containerd shims of our socket by pid,
 * iptables/ip6tables chains (KUBE-*, CNI-*, AUTHLAB-KUBE-*), kube-router's ipsets, mounts under the
 * cluster directory and the pods' network namespaces, kubepods cgroups, the bridge, sysctls (restored
 * to the values recorded before), host directories the components created, and the cluster directory.
 * Idempotent; safe to call when nothing is up.
 */
export async function teardownCluster(options: DownOptions): Promise<DownReport> {
  const env = options.env ?? process.env;
  const log = options.log;
  const paths = clusterPaths(env);
  const t0 = performance.now();
  const state = await readClusterState(paths.state).catch(() => undefined);
  const report: DownReport = { found: !!state, processes: 0, chains: 0, ipsets: 0, mounts: 0, ms: 0 };

  if (state && (await ownerIsStartingUp(state))) {
    // An `up` still starting (another terminal): stop it first, or it keeps creating things.
    log(`stopping the \`authlab cluster up\` still starting (pid ${state.ownerPid})`);
    try {
      process.kill(state.ownerPid, 'SIGKILL');
    } catch {
      // gone
    }
  }

  const daemons = [...(state?.daemons ?? [])].sort((a, b) => STOP_ORDER.indexOf(a.name) - STOP_ORDER.indexOf(b.name));
  const nodeAgents = daemons.filter((d) => ['kube-router', 'kube-proxy', 'kubelet'].includes(d.name));
  for (const d of nodeAgents) if (await stopProcess(d)) report.processes++;
  // Containers and shims are not our children: find them by cgroup / socket and kill them by pid.
  const stray = await strayProcesses(paths.containerdSocket);
  await killPids(stray.map((s) => s.pid));
  report.processes += stray.length;
  for (const d of daemons.filter((x) => !nodeAgents.includes(x))) if (await stopProcess(d)) report.processes++;
  const stray2 = await strayProcesses(paths.containerdSocket);
  await killPids(stray2.map((s) => s.pid));
  report.processes += stray2.length;
  for (const d of daemons) if (await isRunning(d)) log(`warning: ${d.name} (pid ${d.pid}) is still running`);

  const chains = await removeOwnChains();
  report.chains = chains.length;
  report.ipsets = (await removeOwnIpsets()).length;
  if (state?.nftTablesBefore) {
    const tables = await removeEmptyNewTables(state.nftTablesBefore);
    if (tables.length) log(`deleted the now empty nf_tables tables it created: ${tables.join(', ')}`);
  }

  const netnsBefore = state?.netnsBefore ?? [];
  const mounts = await unmountOwn(paths.dir, netnsBefore);
  report.mounts = mounts.length;
  for (const ns of await netnsEntries())
    if (ns.startsWith('cni-') && !netnsBefore.includes(ns)) await rm(join('/run/netns', ns), { force: true });

  for (const cg of await kubepodsCgroups()) await removeCgroupTree(cg);

  // Pod veths die with their network namespaces; any left attached to the bridge go with it.
  if (await bridgeExists()) {
    const veths = await execTool('ip', ['-o', 'link', 'show', 'master', NET.bridge]);
    for (const m of veths.stdout.matchAll(/^\d+: ([^@:]+)/gm)) await execTool('ip', ['link', 'del', m[1]!]);
    await deleteBridge();
  }
  if (state) {
    const restored = await restoreSysctls(state.sysctls);
    if (restored.length) log(`restored sysctls: ${restored.join(', ')}`);
  }
  await removeOwnLogLinks(paths.dir);
  const before = state?.hostDirsBefore ?? [...HOST_DIRS];
  for (const d of HOST_DIRS) if (!before.includes(d) && (await pathExists(d))) await rm(d, { recursive: true, force: true });
  // A second lazy-unmount pass: mounts released only once their last process died.
  report.mounts += (await unmountOwn(paths.dir, netnsBefore)).length;
  await rm(paths.dir, { recursive: true, force: true });
  report.found ||= report.processes + report.chains + report.ipsets + report.mounts > 0;
  report.ms = Math.round(performance.now() - t0);
  return report;
}
