import { apiGet, clusterApi, nodeReady } from './api.js';
import { isRunning } from './daemons.js';
import { clusterPaths } from './paths.js';
import { readClusterState } from './state.js';
import { API_URL, NET } from './topology.js';

/** What `authlab cluster status` prints, as data. */
export interface ClusterStatus {
  up: boolean;
  kubeconfig?: string;
  apiserver?: string;
  serverVersion?: string;
  daemons: { name: string; pid: number; running: boolean }[];
  node?: { name: string; ready: boolean; kubelet: string; runtime: string; internalIp: string };
  pods: { namespace: string; name: string; phase: string; ready: string; ip: string }[];
}

export async function clusterStatus(env: NodeJS.ProcessEnv = process.env): Promise<ClusterStatus> {
  const paths = clusterPaths(env);
  const state = await readClusterState(paths.state);
  if (!state) return { up: false, daemons: [], pods: [] };
  const daemons = await Promise.all(state.daemons.map(async (d) => ({ name: d.name, pid: d.pid, running: await isRunning(d) })));
  const status: ClusterStatus = {
    up: state.status === 'ready' && daemons.every((d) => d.running),
    kubeconfig: paths.kubeconfig,
    apiserver: API_URL,
    daemons,
    pods: [],
  };
  try {
    status.serverVersion = (JSON.parse((await apiGet(paths.pki, '/version')).body) as { gitVersion: string }).gitVersion;
    const api = clusterApi(paths.kubeconfig);
    const node = await api.core.readNode({ name: NET.nodeName });
    status.node = {
      name: NET.nodeName,
      ready: nodeReady(node),
      kubelet: node.status?.nodeInfo?.kubeletVersion ?? '?',
      runtime: node.status?.nodeInfo?.containerRuntimeVersion ?? '?',
      internalIp: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '?',
    };
    const pods = await api.core.listPodForAllNamespaces();
    status.pods = pods.items.map((p) => {
      const cs = p.status?.containerStatuses ?? [];
      return {
        namespace: p.metadata?.namespace ?? '',
        name: p.metadata?.name ?? '',
        phase: p.status?.phase ?? '?',
        ready: `${cs.filter((c) => c.ready).length}/${cs.length}`,
        ip: p.status?.podIP ?? '',
      };
    });
  } catch {
    status.up = false;
  }
  return status;
}

/** Human-readable lines of {@link ClusterStatus}. */
export function formatStatus(s: ClusterStatus): string[] {
  if (!s.kubeconfig) return ['no cluster is up (start one with `authlab cluster up`)'];
  const lines = [
    `cluster: ${s.up ? 'up' : 'NOT healthy (run `authlab cluster down`, then `up`)'}`,
    `  apiserver   ${s.apiserver} (${s.serverVersion ?? 'unreachable'})`,
    `  kubeconfig  ${s.kubeconfig}`,
  ];
  if (s.node)
    lines.push(
      `  node        ${s.node.name} ${s.node.ready ? 'Ready' : 'NotReady'}, ${s.node.internalIp}, kubelet ${s.node.kubelet}, ${s.node.runtime}`,
    );
  lines.push(`  processes   ${s.daemons.map((d) => `${d.name}:${d.pid}${d.running ? '' : '(gone)'}`).join(' ')}`);
  lines.push(`  pods        ${s.pods.length}`);
  for (const p of s.pods) lines.push(`    ${`${p.namespace}/${p.name}`.padEnd(48)} ${p.phase.padEnd(9)} ${p.ready.padEnd(4)} ${p.ip}`);
  return lines;
}
