import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiGet, bootstrapRbac, clusterApi, nodeReady, waitFor } from './api.js';
import { buildClusterBinaries, missingBinaries } from './build.js';
import {
  apiserverSpec,
  containerdSpec,
  controllerManagerSpec,
  corednsSpec,
  etcdSpec,
  kubeletSpec,
  kubeProxySpec,
  kubeRouterSpec,
  schedulerSpec,
  type DaemonSpec,
} from './components.js';
import { isRunning, logTail, startDaemon } from './daemons.js';
import { teardownCluster } from './down.js';
import { ClusterError } from './errors.js';
import { existingHostDirs, netnsEntries } from './host-cleanup.js';
import { createBridge, installGuard, listNftTables, readSysctls, setSysctl } from './host-net.js';
import { cachedImage } from './images/image-cache.js';
import { pauseImage } from './images/pause-image.js';
import { mustExec } from './exec.js';
import { writeNodeConfig } from './node-config.js';
import { buildPaths, clusterPaths, kubeCacheRoot } from './paths.js';
import { makePki, writeKubeconfigs } from './pki.js';
import { requireHostTools, requireKernel, requireNoCluster, requirePortsFree, requireRoot } from './preflight.js';
import { createClusterState, saveClusterState, type ClusterState } from './state.js';
import { NET, PORTS } from './topology.js';
import { CLUSTER_BINARIES, KUBE_VERSION } from './versions.js';

export interface UpOptions {
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Aborts start-up; what was made so far is torn down. */
  signal?: AbortSignal;
}

export interface UpResult {
  kubeconfig: string;
  /** From `up` start to node Ready, milliseconds (excludes a first-time binary build). */
  readyMs: number;
  /** Binaries built during this `up` (empty when the cache had them). */
  built: string[];
}

/**
 * `authlab cluster up`: a single-node Kubernetes on this host. Checks everything it can before touching
 * the host (root, tools, kernel, ports, no earlier cluster), builds missing binaries, then starts etcd,
 * kube-apiserver, controller-manager, scheduler, containerd, kubelet, kube-proxy and kube-router, and
 * resolves once the node is Ready and the NetworkPolicy enforcer is healthy. Every change is recorded
 * in the state file first; on any failure (or abort) everything made so far is torn down.
 */
export async function clusterUp(options: UpOptions): Promise<UpResult> {
  const env = options.env ?? process.env;
  const log = options.log;
  const paths = clusterPaths(env);
  requireRoot('up');
  const tools = await requireHostTools();
  await requireKernel();
  await requireNoCluster(paths);
  await requirePortsFree();

  let built: string[] = [];
  if ((await missingBinaries(env)).length) {
    log(`Kubernetes ${KUBE_VERSION} binaries are not built yet; building them once into ${buildPaths(env).bin} (about 15 min on 2 cores)…`);
    built = (
      await buildClusterBinaries({
        log: (l) => log(`  ${l}`),
        env,
        // Prometheus (--observe) is built when a study first needs it, not on the way to a node.
        only: CLUSTER_BINARIES,
        ...(options.signal ? { signal: options.signal } : {}),
      })
    ).built.map((b) => b.name);
  }
  const bin = (name: string) => (name.startsWith('/') ? name : join(buildPaths(env).bin, name));
  const pause = await cachedImage(join(kubeCacheRoot(env), 'images'), 'pause', [await readFile(bin('pause'))], () =>
    pauseImage(bin('pause')),
  );

  const t0 = performance.now();
  const state: ClusterState = {
    ownerPid: process.pid,
    startedAt: new Date().toISOString(),
    status: 'starting',
    kubeVersion: KUBE_VERSION,
    daemons: [],
    sysctls: await readSysctls(),
    bridgeCreated: false,
    netnsBefore: await netnsEntries(),
    nftTablesBefore: await listNftTables(),
    hostDirsBefore: await existingHostDirs(),
  };
  await createClusterState(paths.state, state);
  const save = () => saveClusterState(paths.state, state);
  const checkAborted = () => {
    if (options.signal?.aborted) throw new ClusterError('ERR_ABORTED', 'cluster up was interrupted');
  };
  const start = async (spec: DaemonSpec) => {
    checkAborted();
    const rec = await startDaemon(spec.name, bin(spec.bin), spec.args, paths.logs, env);
    state.daemons.push(rec);
    await save();
    return rec;
  };
  /** Fails fast, with the log's last lines, when a daemon we started has exited. */
  const alive = async () => {
    checkAborted();
    for (const d of state.daemons) {
      if (!(await isRunning(d)))
        throw new ClusterError(
          'ERR_COMPONENT_EXITED',
          `${d.name} exited during start-up; its log ${d.log} ends with:\n${await logTail(d.log)}`,
        );
    }
  };
  const step = (what: string) => log(`${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  try {
    for (const d of [paths.logs, paths.pki, paths.etcdData]) await mkdir(d, { recursive: true, mode: 0o700 });
    await makePki(paths.pki);
    const kc = await writeKubeconfigs(paths.pki);
    await copyFile(kc.admin, paths.kubeconfig);
    step('PKI and kubeconfigs written');

    await createBridge();
    state.bridgeCreated = true;
    await save();
    await installGuard();
    await setSysctl('net/ipv4/ip_forward', '1');
    await setSysctl('net/bridge/bridge-nf-call-iptables', '1');
    const files = await writeNodeConfig(paths, tools.runc!, { kubeProxy: kc['kube-proxy'], coredns: kc.coredns }, pause.ref);
    step(`bridge ${NET.bridge} ${NET.nodeIp}, egress guard and node configuration in place`);

    await start(etcdSpec(paths));
    await start(containerdSpec(tools.containerd!, files.containerd));
    await waitFor('etcd health', 20_000, async () => (await fetch(`http://127.0.0.1:${PORTS.etcdClient}/health`)).ok, alive);
    await start(apiserverSpec(paths));
    await waitFor('kube-apiserver /readyz', 60_000, async () => (await apiGet(paths.pki, '/readyz')).body === 'ok', alive);
    step('kube-apiserver ready');

    const api = clusterApi(paths.kubeconfig);
    await bootstrapRbac(api);
    await start(controllerManagerSpec(paths, kc));
    await start(schedulerSpec(kc));
    await start(corednsSpec(files.corefile));

    const ctr = ['-a', paths.containerdSocket, '-n', 'k8s.io'];
    await waitFor(
      'containerd socket',
      20_000,
      async () => (await mustExec(tools.ctr!, ['-a', paths.containerdSocket, 'version'])).includes('Server'),
      alive,
    );
    await mustExec(tools.ctr!, [...ctr, 'images', 'import', pause.archive], { timeoutMs: 60_000 });
    step(`containerd ready, ${pause.ref} imported`);

    await start(kubeletSpec(paths, kc, files.kubelet));
    await start(kubeProxySpec(files.kubeProxy));
    await waitFor(`node ${NET.nodeName} registered`, 60_000, async () => !!(await api.core.readNode({ name: NET.nodeName })), alive, 200);
    // kube-router exits when its Node object does not exist yet, so it starts after registration.
    await start(kubeRouterSpec(kc));
    await waitFor(`node ${NET.nodeName} Ready`, 90_000, async () => nodeReady(await api.core.readNode({ name: NET.nodeName })), alive, 200);
    const readyMs = Math.round(performance.now() - t0);
    step('node Ready');
    await waitFor(
      'kube-router healthy',
      30_000,
      async () => (await fetch(`http://127.0.0.1:${PORTS.kubeRouterHealth}/healthz`)).ok,
      alive,
      200,
    );
    await waitFor('CoreDNS healthy', 30_000, async () => (await fetch(`http://127.0.0.1:${PORTS.corednsHealth}/health`)).ok, alive, 200);
    step('NetworkPolicy enforcer (kube-router) and cluster DNS (CoreDNS) healthy');

    state.status = 'ready';
    state.readyMs = readyMs;
    await save();
    return { kubeconfig: paths.kubeconfig, readyMs, built };
  } catch (err) {
    log(`start-up failed; removing everything made so far…`);
    await teardownCluster({ log: (l) => log(`  ${l}`), env });
    throw err;
  }
}
