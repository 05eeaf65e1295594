import { AppsV1Api, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterError } from '../errors.js';
import { apply, objectApi } from './apply.js';
import type { ClusterProfile } from './cluster-profile.js';
import { SYSTEM_NAMESPACE } from './deploy.js';
import { PROMETHEUS_PORT, prometheusNetworkPolicies, prometheusObjects, scrapeNetworkPolicy } from './observability.js';
import type { Reach } from './port-forward.js';

export interface DeployPrometheusOptions {
  kubeconfig: string;
  /** Image reference, already on the nodes (cluster/images/prometheus-image.ts). */
  image: string;
  /** Service namespaces whose sidecars it scrapes (they get an `allow-prometheus-scrape` policy). */
  serviceNamespaces: readonly string[];
  profile: ClusterProfile;
  reach: Reach;
  /** The runner's live `/metrics` as pods reach it (`ip:port`); absent: the runner is not scraped. */
  runnerTarget?: string;
  /** Until the pod is Ready and the API answers, ms (default 120 000). */
  timeoutMs?: number;
  log: (line: string) => void;
}

export interface InClusterPrometheus {
  /** Base URL the runner queries (kube: the ClusterIP; kind: a port-forward). */
  url: string;
  /** The Service as pods reach it. */
  inClusterUrl: string;
  /** The generated prometheus.yml (what the ConfigMap holds). */
  config: string;
  /** Grafana beside it (kind), when it became ready: the URL the runner reaches it at. */
  grafana?: { url: string };
}

/**
 * Deploys Prometheus into `authlab-system` next to the IdP (objects of observability.ts: RBAC for pod
 * discovery, config, Deployment, Service, its NetworkPolicies and one scrape policy per namespace) and
 * resolves once its API answers from the runner. Namespace deletion removes it; the ClusterRole and
 * binding go with `undeployAuthlab`.
 */
export async function deployPrometheus(o: DeployPrometheusOptions): Promise<InClusterPrometheus> {
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const api = objectApi(kc);
  const apps = kc.makeApiClient(AppsV1Api);
  const ns = SYSTEM_NAMESPACE;
  const t0 = performance.now();
  const policies = [
    ...prometheusNetworkPolicies(ns, {
      apiServerEndpoints: o.profile.apiServerEndpoints,
      runnerPeers: o.profile.runnerPeers,
      ...(o.runnerTarget ? { runnerTarget: o.runnerTarget } : {}),
    }),
    scrapeNetworkPolicy(ns, 'idp'),
    ...o.serviceNamespaces.map((s) => scrapeNetworkPolicy(s, 'sidecar')),
  ];
  for (const p of policies) await apply(api, 'NetworkPolicy', p);
  const [sa, role, binding, config, deployment, service] = prometheusObjects(ns, o.image, {
    ...(o.runnerTarget ? { runnerTarget: o.runnerTarget } : {}),
  });
  await apply(api, 'ServiceAccount', sa);
  await apply(api, 'ClusterRole', role);
  await apply(api, 'ClusterRoleBinding', binding);
  await apply(api, 'ConfigMap', config);
  await apply(api, 'Deployment', deployment);
  const svc: V1Service = await apply(api, 'Service', service);
  const inClusterUrl = `http://${svc.spec?.clusterIP}:${PROMETHEUS_PORT}`;
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (;;) {
    const d = await apps.readNamespacedDeployment({ name: 'prometheus', namespace: ns });
    if ((d.status?.readyReplicas ?? 0) >= 1) break;
    if (Date.now() > deadline)
      throw new ClusterError(
        'ERR_START_TIMEOUT',
        `Prometheus was not ready in time; see \`kubectl -n ${ns} describe pod -l app=prometheus\``,
      );
    await sleep(250);
  }
  const url = await o.reach(ns, 'prometheus', inClusterUrl);
  // Ready pod, but the ClusterIP's rules (kube-proxy) or the forward may lag a moment.
  for (;;) {
    const ok = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new ClusterError('ERR_START_TIMEOUT', `Prometheus did not answer at ${url}/-/ready in time`);
    await sleep(200);
  }
  o.log(`Prometheus ready at ${url} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return { url, inClusterUrl, config: config.data!['prometheus.yml']! };
}
