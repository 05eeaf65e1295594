import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { apply, objectApi } from '../../cluster/deploy/apply.js';
import { deleteNamespaces } from '../../cluster/deploy/deploy.js';
import { LOAD_NAMESPACE_LABEL } from '../../cluster/deploy/network-policies.js';
import { K6_IMAGE_SCRIPTS } from '../../cluster/images/k6-image.js';
import { IMAGE_USERS } from '../../cluster/images/rootfs.js';
import { foldCsv, k6Targets } from './k6.js';
import { executionSegments, segmentArgs } from './k6-segments.js';
import type { Engine, EngineResult, EngineRunOptions } from './types.js';

/** Namespace of the in-cluster runners (and of the null endpoint their harness floor is measured against). */
export const LOAD_NAMESPACE = 'authlab-load';
const NULL_PORT = 8080;
// A null endpoint like runner/study/floor.ts's, inside the cluster: the in-cluster runners' floor.
const NULL_SERVER = `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>{s.writeHead(200,{'content-type':'application/json','content-length':'11'});s.end('{"rows":[]}')})}).listen(${NULL_PORT})`;

export interface K6ClusterOptions {
  kubeconfig: string;
  /** Runner pods sharing each run's arrival rate by k6 execution segment. */
  runners: number;
  /** The k6 image (cluster/images/k6-image.ts), already on the nodes. */
  image: string;
  /** An image holding Node at /usr/local/bin/node (the sidecar's), for the in-cluster null endpoint. */
  nodeImage: string;
  /** The URL pods use for one the runner uses; undefined for a URL that is not the platform's (the floor's null endpoint). */
  inClusterUrl: (url: string) => string | undefined;
  /** Open-loop VU ceiling of the whole test (split between runners); default 50. */
  maxVus?: number;
  log?: (line: string) => void;
  /** How long before the start instant the pods are created, ms (default 15 000). */
  startLeadMs?: number;
}

/**
 * k6 as N pods in the cluster (the split grafana/k6-operator makes): every run of a trial step goes to
 * each pod as the same AUTHLAB_TARGETS with its own `--execution-segment`, so k6 gives each pod its share
 * of every arrival rate; all pods wait in `setup()` for one start instant; each writes its per-request
 * CSV to stdout, which the runner reads from the pod's log once it has finished and folds, all pods
 * together, into the same µs histograms as host k6. A run is invalid when any runner failed or any
 * dropped iterations.
 */
export function buildK6ClusterEngine(o: K6ClusterOptions): Engine & { close(): Promise<void> } {
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const log = o.log ?? (() => {});
  let ready: Promise<string> | undefined;
  let seq = 0;

  /** The load namespace and the null endpoint; resolves the null endpoint's base URL. */
  const prepare = async (): Promise<string> => {
    const api = objectApi(kc);
    await apply(api, 'Namespace', { metadata: { name: LOAD_NAMESPACE, labels: { ...LOAD_NAMESPACE_LABEL } } });
    const labels = { app: 'null' };
    const svc = await apply<V1Service>(api, 'Service', {
      metadata: { name: 'null', namespace: LOAD_NAMESPACE },
      spec: { selector: labels, ports: [{ port: NULL_PORT, targetPort: NULL_PORT }] },
    });
    await apply(api, 'Deployment', {
      metadata: { name: 'null', namespace: LOAD_NAMESPACE },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'null',
                image: o.nodeImage,
                imagePullPolicy: 'Never',
                command: ['/usr/local/bin/node', '-e', NULL_SERVER],
                readinessProbe: { tcpSocket: { port: NULL_PORT }, periodSeconds: 1 },
                securityContext: { runAsNonRoot: true, runAsUser: IMAGE_USERS.app.uid, allowPrivilegeEscalation: false },
              },
            ],
          },
        },
      },
    });
    const apps = kc.makeApiClient(AppsV1Api);
    for (const deadline = Date.now() + 120_000; ; await sleep(250)) {
      const d = await apps.readNamespacedDeployment({ name: 'null', namespace: LOAD_NAMESPACE });
      if ((d.status?.readyReplicas ?? 0) >= 1) break;
      if (Date.now() > deadline) throw new Error(`the in-cluster null endpoint (${LOAD_NAMESPACE}/null) was not ready within 120 s`);
    }
    return `http://${svc.spec?.clusterIP}:${NULL_PORT}`;
  };

  const runMany = async (runs: readonly EngineRunOptions[]): Promise<EngineResult[]> => {
    const first = runs[0];
    if (!first) return [];
    const nullBase = await (ready ??= prepare());
    const { plans, targets } = k6Targets(runs, o.maxVus ?? 50);
    for (const t of targets) t.url = o.inClusterUrl(t.url) ?? `${nullBase}${new URL(t.url).pathname}`;
    const startAt = Date.now() + (o.startLeadMs ?? 15_000);
    const step = ++seq;
    const segs = executionSegments(o.runners);
    const names = segs.map((_, i) => `k6-${process.pid}-${step}-${i}`);
    const script = `${K6_IMAGE_SCRIPTS}/${first.k6Script ?? 'generic.ts'}`;
    const dir = await mkdtemp(join(tmpdir(), 'authlab-k6-cluster-'));
    try {
      for (const [i, s] of segs.entries()) {
        const pod: V1Pod = {
          metadata: { name: names[i]!, namespace: LOAD_NAMESPACE, labels: { app: 'k6-runner' } },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'k6',
                image: o.image,
                imagePullPolicy: 'Never',
                args: [
                  'run',
                  '--quiet',
                  '--summary-mode=disabled',
                  '--no-color',
                  ...segmentArgs(s, o.runners),
                  '--out',
                  'csv=/dev/stdout',
                  script,
                ],
                env: [
                  { name: 'AUTHLAB_TARGETS', value: JSON.stringify(targets) },
                  { name: 'AUTHLAB_START_AT_MS', value: String(startAt) },
                  { name: 'K6_CSV_TIME_FORMAT', value: 'unix_micro' },
                ],
                securityContext: { runAsNonRoot: true, runAsUser: IMAGE_USERS.app.uid, allowPrivilegeEscalation: false },
              },
            ],
          },
        };
        await core.createNamespacedPod({ namespace: LOAD_NAMESPACE, body: pod });
      }
      const longest = Math.max(...plans.map((p) => p.warmupS + p.durationS));
      const deadline = startAt + (longest + 120) * 1000;
      const failed: string[] = [];
      const files: string[] = [];
      for (const name of names) {
        for (;;) {
          if (first.signal?.aborted) throw first.signal.reason ?? new Error('run aborted');
          const pod = await core.readNamespacedPod({ name, namespace: LOAD_NAMESPACE });
          const phase = pod.status?.phase;
          if (phase === 'Succeeded' || phase === 'Failed') {
            const logText = await core.readNamespacedPodLog({ name, namespace: LOAD_NAMESPACE, container: 'k6' });
            if (phase === 'Failed') {
              const code = pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
              failed.push(`${name} exited ${code ?? '?'}: ${logText.trim().split('\n').slice(-2).join(' | ').slice(0, 300)}`);
            }
            const file = join(dir, `${name}.csv`);
            await writeFile(file, logText);
            files.push(file);
            break;
          }
          if (Date.now() > deadline) {
            failed.push(`${name} did not finish in time (phase ${phase})`);
            break;
          }
          await sleep(500);
        }
      }
      const results = await foldCsv(files, plans);
      if (failed.length === 0) return results;
      log(`in-cluster k6: ${failed.join('; ')}`);
      const reason = `k6 runner ${failed[0]}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}`;
      return results.map((r) => ({ ...r, valid: false, invalidReason: reason }));
    } finally {
      await Promise.all(
        names.map((name) => core.deleteNamespacedPod({ name, namespace: LOAD_NAMESPACE, gracePeriodSeconds: 0 }).catch(() => {})),
      );
      await rm(dir, { recursive: true, force: true });
    }
  };

  return {
    name: 'k6',
    model: 'open',
    async unavailable() {
      return null;
    },
    async run(r) {
      const [res] = await runMany([r]);
      return res as EngineResult;
    },
    runMany,
    async close() {
      if (!ready) return;
      await deleteNamespaces(kc, [LOAD_NAMESPACE]);
    },
  };
}
