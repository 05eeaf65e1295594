import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, KubeConfig, type V1NetworkPolicy, type V1Service } from '@kubernetes/client-node';
import { GRAFANA_DIR } from '../grafana/paths.js';
import { apply, objectApi } from './apply.js';
import { SYSTEM_NAMESPACE } from './deploy.js';
import { GRAFANA_IMAGE, GRAFANA_PORT, grafanaObjects, PROMETHEUS_PORT } from './observability.js';
import type { Reach } from './port-forward.js';

export interface DeployGrafanaOptions {
  kubeconfig: string;
  /** The in-cluster Prometheus as pods reach it (its Service URL). */
  prometheusUrl: string;
  reach: Reach;
  /** Until the pod is Ready and answers, ms (default 180 000: the first start pulls the public image). */
  timeoutMs?: number;
  log: (line: string) => void;
}

/** The dashboards committed under cluster/grafana/ (`npm run dashboards` regenerates them; a test keeps them current). */
export async function committedDashboards(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(GRAFANA_DIR)).filter((n) => n.endsWith('.json')).sort())
    out[f] = await readFile(join(GRAFANA_DIR, f), 'utf8');
  return out;
}

/** Grafana may query Prometheus, and nothing else; Prometheus accepts it. The runner reaches Grafana by port-forward. */
export function grafanaNetworkPolicies(namespace: string): V1NetworkPolicy[] {
  const app = (name: string) => ({ matchLabels: { app: name } });
  return [
    {
      metadata: { name: 'grafana-egress', namespace },
      spec: {
        podSelector: app('grafana'),
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: app('prometheus') }], ports: [{ protocol: 'TCP', port: PROMETHEUS_PORT }] }],
      },
    },
    {
      metadata: { name: 'prometheus-from-grafana', namespace },
      spec: {
        podSelector: app('prometheus'),
        policyTypes: ['Ingress'],
        ingress: [{ _from: [{ podSelector: app('grafana') }], ports: [{ protocol: 'TCP', port: PROMETHEUS_PORT }] }],
      },
    },
  ];
}

/**
 * Grafana on a kind cluster (issue 14): the public image (pulled by the node: kind has a registry
 * path, this sandbox does not), the in-cluster Prometheus as its default datasource and the committed
 * dashboards provisioned, anonymous viewer access. Resolves with the URL the runner reaches it at, or
 * with `undefined` and a log line saying why when it is not ready in time (an image that cannot be
 * pulled must not fail the study: Prometheus and the live page still work).
 */
export async function deployGrafana(o: DeployGrafanaOptions): Promise<{ url: string } | undefined> {
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const api = objectApi(kc);
  const apps = kc.makeApiClient(AppsV1Api);
  const ns = SYSTEM_NAMESPACE;
  const t0 = performance.now();
  for (const p of grafanaNetworkPolicies(ns)) await apply(api, 'NetworkPolicy', p);
  const [datasources, provider, dashboards, deployment, service] = grafanaObjects(ns, await committedDashboards(), {
    prometheusUrl: o.prometheusUrl,
  });
  await apply(api, 'ConfigMap', datasources);
  await apply(api, 'ConfigMap', provider);
  await apply(api, 'ConfigMap', dashboards);
  await apply(api, 'Deployment', deployment);
  const svc: V1Service = await apply(api, 'Service', service);
  const deadline = Date.now() + (o.timeoutMs ?? 180_000);
  for (;;) {
    const d = await apps.readNamespacedDeployment({ name: 'grafana', namespace: ns });
    if ((d.status?.readyReplicas ?? 0) >= 1) break;
    if (Date.now() > deadline) {
      o.log(
        `Grafana (${GRAFANA_IMAGE}) was not ready within ${Math.round((o.timeoutMs ?? 180_000) / 1000)} s — can the node pull it? ` +
          `\`kubectl -n ${ns} describe pod -l app=grafana\`; Prometheus and the live page work without it`,
      );
      return undefined;
    }
    await sleep(500);
  }
  const url = await o.reach(ns, 'grafana', `http://${svc.spec?.clusterIP}:${GRAFANA_PORT}`);
  o.log(`Grafana ready at ${url} (${((performance.now() - t0) / 1000).toFixed(1)} s), dashboards in folder authlab`);
  return { url };
}
