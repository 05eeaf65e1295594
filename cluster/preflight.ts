import { access, constants, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { isRunning } from './daemons.js';
import { ClusterError } from './errors.js';
import { bridgeExists, listOwnChains } from './host-net.js';
import type { ClusterPaths } from './paths.js';
import { readClusterState } from './state.js';
import { NET, PORTS } from './topology.js';

/** Host tools `cluster up` runs, and the Debian package each comes from. */
const HOST_TOOLS: readonly [tool: string, pkg: string][] = [
  ['containerd', 'containerd'],
  ['ctr', 'containerd'],
  ['runc', 'runc'],
  ['iptables', 'iptables'],
  ['iptables-save', 'iptables'],
  ['ipset', 'ipset'],
  ['ip', 'iproute2'],
  ['openssl', 'openssl'],
  ['umount', 'mount'],
];
const CNI_PLUGINS = ['bridge', 'host-local', 'loopback'];
export const CNI_BIN_DIR = '/usr/lib/cni';

export async function which(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of [...path.split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean)) {
    try {
      await access(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // next
    }
  }
  return undefined;
}

/** Exit unless we are root. */
export function requireRoot(command: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new ClusterError(
      'ERR_NOT_ROOT',
      `\`authlab cluster ${command}\` must run as root (it makes a bridge, iptables chains, mounts and cgroups); run it with sudo`,
    );
  }
}

/** Absolute paths of the host tools, or one sentence naming the missing ones and the apt packages. */
export async function requireHostTools(): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  const pkgs = new Set<string>();
  for (const [tool, pkg] of HOST_TOOLS) {
    const p = await which(tool);
    if (p) found[tool] = p;
    else {
      missing.push(tool);
      pkgs.add(pkg);
    }
  }
  for (const plugin of CNI_PLUGINS) {
    try {
      await access(join(CNI_BIN_DIR, plugin), constants.X_OK);
    } catch {
      missing.push(`${CNI_BIN_DIR}/${plugin}`);
      pkgs.add('containernetworking-plugins');
    }
  }
  if (missing.length) {
    throw new ClusterError(
      'ERR_TOOL_MISSING',
      `\`authlab cluster up\` needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} missing; install with \`apt-get install -y ${[...pkgs].join(' ')}\``,
    );
  }
  return found;
}

/** Kernel features the node needs: bridge netfilter (kube-proxy, kube-router) and cgroups. */
export async function requireKernel(): Promise<void> {
  for (const [path, what] of [
    ['/proc/sys/net/bridge/bridge-nf-call-iptables', 'bridge netfilter (br_netfilter)'],
    ['/proc/sys/net/ipv4/ip_forward', 'IPv4 forwarding'],
    ['/sys/fs/cgroup', 'cgroups'],
  ] as const) {
    try {
      await access(path);
    } catch {
      throw new ClusterError(
        'ERR_TOOL_MISSING',
        `this kernel lacks ${what} (${path} is missing); load it (\`modprobe br_netfilter\`) or use a machine that has it`,
      );
    }
  }
}

/** Ports with a TCP listener or a bound UDP socket on any address (from /proc/net/{tcp,udp}{,6}). */
export async function listeningPorts(): Promise<Set<number>> {
  const ports = new Set<number>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6', '/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = await readFile(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // TCP LISTEN (0A); for UDP every socket bound to a local port (07) holds it.
      if (cols[3] === (f.includes('udp') ? '07' : '0A')) ports.add(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

export async function requirePortsFree(): Promise<void> {
  const busy = await listeningPorts();
  for (const [name, port] of Object.entries(PORTS)) {
    if (busy.has(port)) {
      throw new ClusterError(
        'ERR_PORT_BUSY',
        `port ${port} (the cluster's ${name}) is already in use; stop what listens there (\`ss -ltnp 'sport = :${port}'\`) and run \`authlab cluster up\` again`,
      );
    }
  }
}

/**
 * Refuses to start over an existing cluster: one that is up or starting (ERR_ALREADY_UP), or what a
 * killed run left behind — a state file, the bridge or our iptables chains (ERR_STALE_CLUSTER).
 */
export async function requireNoCluster(paths: ClusterPaths): Promise<void> {
  const state = await readClusterState(paths.state);
  if (state) {
    const running = (await Promise.all(state.daemons.map((d) => isRunning(d)))).filter(Boolean).length;
    if (state.status === 'ready' && running === state.daemons.length && running > 0) {
      throw new ClusterError(
        'ERR_ALREADY_UP',
        `a cluster is already up (kubeconfig ${paths.kubeconfig}); use it, or run \`authlab cluster down\` first`,
      );
    }
    throw new ClusterError(
      'ERR_STALE_CLUSTER',
      `a cluster from an earlier run is left (state in ${paths.state}, ${running} of ${state.daemons.length} processes running); run \`authlab cluster down\` to remove it, then \`authlab cluster up\``,
    );
  }
  if (await bridgeExists()) {
    throw new ClusterError(
      'ERR_STALE_CLUSTER',
      `the bridge ${NET.bridge} exists but no cluster state does; run \`authlab cluster down\` to remove it, then \`authlab cluster up\``,
    );
  }
  const chains = await listOwnChains();
  if (chains.length) {
    throw new ClusterError(
      'ERR_STALE_CLUSTER',
      `iptables chains of a Kubernetes node are left (${chains[0]}${chains.length > 1 ? ` and ${chains.length - 1} more` : ''}); run \`authlab cluster down\` to remove them, then \`authlab cluster up\``,
    );
  }
}
