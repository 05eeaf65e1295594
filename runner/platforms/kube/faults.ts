import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { OutageTimes, PlatformFaults } from '../platform.js';

/** Where each component a fault scenario stops runs in the deployment (cluster/deploy). */
export interface ClusterFaultTargets {
  /** The IdP: namespace `authlab-system`, pods labelled app=idp, container `idp`. */
  idp: { namespace: string; app: string; container: string };
  /** The database a fault stops: the fault pair's target service's own PostgreSQL. */
  postgres: { namespace: string; app: string; container: string };
}

const POLL_MS = 100;
const READY_TIMEOUT_MS = 120_000;
/** PostgreSQL's own line when it accepts connections again (its log, with the kubelet's timestamps). */
const PG_READY = 'database system is ready to accept connections';

/**
 * Fault injection on a cluster whose node is this host (the kube platform): a container's processes
 * are this host's processes, so a fault stops the component's main process by its host pid, as on the
 * local platform (`idp`: SIGKILL; `postgres`: SIGINT to the postmaster, a fast shutdown). The kubelet
 * then restarts the container in the same pod (restartPolicy Always), so the pod keeps its IP and its
 * emptyDir (PostgreSQL's data survives); how long it stays down is the kubelet's call, not `holdMs`.
 * `upAt` is when the pod reports the restarted container ready; for postgres `acceptingAt` is the
 * timestamp the kubelet gave PostgreSQL's "ready to accept connections" line.
 *
 * Unlike the local platform, where one PostgreSQL server holds every database, each service has its
 * own server here: a `postgres` outage stops the fault pair's target database only.
 */
export function hostNodeFaults(kc: KubeConfig, targets: ClusterFaultTargets): PlatformFaults {
  const core = kc.makeApiClient(CoreV1Api);
  const podOf = async (t: ClusterFaultTargets['idp']): Promise<V1Pod> => {
    const pods = (await core.listNamespacedPod({ namespace: t.namespace, labelSelector: `app=${t.app}` })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );
    if (pods.length !== 1) throw new Error(`expected one ${t.app} pod in ${t.namespace}, found ${pods.length}; cannot inject a fault`);
    return pods[0]!;
  };
  const containerState = (pod: V1Pod, name: string) => pod.status?.containerStatuses?.find((c) => c.name === name);
  return {
    async outage(component, _holdMs) {
      const t = targets[component];
      const pod = await podOf(t);
      const podName = pod.metadata!.name!;
      const status = containerState(pod, t.container);
      const containerId = status?.containerID?.replace(/^[a-z]+:\/\//, '');
      if (!containerId || !status?.ready)
        throw new Error(`${t.namespace}/${podName} container ${t.container} is not ready; cannot inject a fault`);
      const pid = await containerMainPid(containerId);
      if (pid === undefined) {
        throw new Error(
          `no process of container ${t.container} (${containerId.slice(0, 12)}) on this host; faults need the node to be this machine (--platform kube)`,
        );
      }
      const restartsBefore = status.restartCount;
      const downAt = Date.now();
      process.kill(pid, component === 'postgres' ? 'SIGINT' : 'SIGKILL');
      let upAt: number | undefined;
      for (const end = Date.now() + READY_TIMEOUT_MS; upAt === undefined;) {
        if (Date.now() > end)
          throw new Error(`${t.namespace}/${podName} ${t.container} was not ready again within ${READY_TIMEOUT_MS / 1000} s`);
        await sleep(POLL_MS);
        const now = containerState(await core.readNamespacedPod({ name: podName, namespace: t.namespace }), t.container);
        if (now && now.restartCount > restartsBefore && now.ready) upAt = Date.now();
      }
      const times: OutageTimes = { subject: `pod ${t.namespace}/${podName} container ${t.container}, host pid ${pid}`, downAt, upAt };
      if (component === 'postgres') {
        const acceptingAt = await readyLineAt(core, t.namespace, podName, t.container, downAt);
        if (acceptingAt !== undefined) times.acceptingAt = acceptingAt;
      }
      return times;
    },
  };
}

/** Host pid of a container's main process: the process in its cgroup whose parent is not (the shim's child). */
export async function containerMainPid(containerId: string): Promise<number | undefined> {
  const members = new Map<number, number>(); // pid → ppid
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cgroup = await readFile(`/proc/${entry}/cgroup`, 'utf8').catch(() => '');
    if (!cgroup.includes(containerId)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isFinite(ppid)) members.set(Number(entry), ppid);
  }
  for (const [pid, ppid] of members) if (!members.has(ppid)) return pid;
  return undefined;
}

/** When the restarted container's PostgreSQL logged that it accepts connections (epoch ms), if it did after `since`. */
async function readyLineAt(
  core: CoreV1Api,
  namespace: string,
  name: string,
  container: string,
  since: number,
): Promise<number | undefined> {
  const log = await core.readNamespacedPodLog({ name, namespace, container, timestamps: true }).catch(() => '');
  for (const line of String(log).split('\n')) {
    if (!line.includes(PG_READY)) continue;
    const at = Date.parse(line.slice(0, line.indexOf(' ')));
    if (Number.isFinite(at) && at >= since) return at;
  }
  return undefined;
}
