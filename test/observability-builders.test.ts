import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { missingBinaries } from '../cluster/build.js';
import { thisHostProfile } from '../cluster/deploy/cluster-profile.js';
import {
  grafanaObjects,
  inClusterPrometheusConfig,
  prometheusNetworkPolicies,
  prometheusObjects,
  scrapeNetworkPolicy,
} from '../cluster/deploy/observability.js';
import { buildPaths } from '../cluster/paths.js';
import { NET } from '../cluster/topology.js';

const run = promisify(execFile);
// Debian's promtool is built without Kubernetes discovery ("field kubernetes_sd_configs not found"):
// the config is checked with the upstream promtool `authlab cluster build` makes.
const noPromtool = (await missingBinaries(process.env, ['promtool'])).length > 0;
if (noPromtool) console.warn('SKIP promtool check of the in-cluster config: run `authlab cluster build` (builds promtool)');

describe('in-cluster observability builders', () => {
  it('discovers the idp and sidecar pods and labels them as the local file_sd config does', () => {
    const yml = inClusterPrometheusConfig({ runnerTarget: `${NET.nodeIp}:41000` });
    expect(yml).toMatch(/job_name: authlab-idp\n    kubernetes_sd_configs:\n      - role: pod/);
    expect(yml).toMatch(/target_label: service\n        replacement: idp/);
    expect(yml).toMatch(/job_name: authlab-sidecar\n    honor_labels: true\n    kubernetes_sd_configs:\n      - role: pod/);
    expect(yml).toMatch(/regex: 'p\(\\d\+\)-\[ab\]'\n        target_label: pair/);
    expect(yml).toMatch(/job_name: authlab-runner\n    static_configs:\n      - targets: \['10\.244\.77\.1:41000'\]/);
    expect(inClusterPrometheusConfig()).not.toMatch(/authlab-runner/);
  });

  it.skipIf(noPromtool)('the generated config passes the upstream promtool check config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'authlab-promcfg-'));
    try {
      await writeFile(join(dir, 'prometheus.yml'), inClusterPrometheusConfig({ runnerTarget: `${NET.nodeIp}:41000` }));
      const { stdout, stderr } = await run(join(buildPaths().bin, 'promtool'), ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(stdout + stderr).toMatch(/SUCCESS/);
      expect(stdout + stderr).not.toMatch(/FAILED|WARNING/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs Prometheus non-root in authlab-system with read-only discovery rights', () => {
    const [sa, role, binding, config, deployment] = prometheusObjects('authlab-system', 'localhost/authlab/prometheus:dev', {
      runnerTarget: '10.244.77.1:41000',
    });
    expect(sa.metadata?.namespace).toBe('authlab-system');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods', 'services', 'endpoints'], verbs: ['get', 'list', 'watch'] }]);
    expect(binding.subjects?.[0]).toMatchObject({ name: 'prometheus', namespace: 'authlab-system' });
    expect(config.data?.['prometheus.yml']).toMatch(/10\.244\.77\.1:41000/);
    const pod = deployment.spec?.template.spec;
    expect(pod?.serviceAccountName).toBe('prometheus');
    expect(pod?.containers[0]?.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
    expect(pod?.containers[0]?.imagePullPolicy).toBe('Never');
    // It scrapes the runner: no writes to accept.
    expect(pod?.containers[0]?.args).not.toContain('--web.enable-remote-write-receiver');
  });

  it('opens exactly the scrape paths through the default-deny policies (kube: runner on the node)', () => {
    const profile = thisHostProfile();
    const [egress, ingress] = prometheusNetworkPolicies('authlab-system', {
      apiServerEndpoints: profile.apiServerEndpoints,
      runnerPeers: profile.runnerPeers,
      runnerTarget: `${NET.nodeIp}:41000`,
    });
    const rules = egress!.spec!.egress!;
    expect(rules.map((r) => r.ports?.[0]?.port)).toEqual([profile.apiServerEndpoints[0]!.port, 8080, 8080, 41000]);
    expect(rules[3]!.to?.[0]?.ipBlock?.cidr).toBe(`${NET.nodeIp}/32`);
    expect(ingress!.spec!.ingress![0]!._from).toEqual(profile.runnerPeers);
    const scrape = scrapeNetworkPolicy('p1-a', 'sidecar');
    expect(scrape.spec?.podSelector).toEqual({ matchLabels: { app: 'sidecar' } });
    expect(scrape.spec?.ingress?.[0]?._from?.[0]).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'authlab-system' } },
      podSelector: { matchLabels: { app: 'prometheus' } },
    });
  });

  it('kind (port-forwards, runner unreachable from pods): no runner rule, no ingress rule, no runner job; the runner pushes instead', () => {
    const policies = prometheusNetworkPolicies('authlab-system', {
      apiServerEndpoints: [{ ip: '172.18.0.2', port: 6443 }],
      runnerPeers: [],
    });
    expect(policies.map((p) => p.metadata?.name)).toEqual(['prometheus-egress']);
    expect(policies[0]!.spec!.egress!.length).toBe(3);
    const [, , , config, deployment] = prometheusObjects('authlab-system', 'localhost/authlab/prometheus:dev');
    expect(config.data?.['prometheus.yml']).not.toMatch(/authlab-runner/);
    expect(deployment.spec?.template.spec?.containers[0]?.args).toContain('--web.enable-remote-write-receiver');
  });

  it('provisions Grafana with the datasource and dashboards', () => {
    const [datasources, , dashboards] = grafanaObjects('authlab-system', { 'authlab-overview.json': '{}' });
    expect(datasources.data?.['prometheus.yaml']).toMatch(/url: http:\/\/prometheus\.authlab-system\.svc:9090/);
    expect(Object.keys(dashboards.data ?? {})).toEqual(['authlab-overview.json']);
  });
});

describe('Grafana on kind (cluster/deploy/grafana.ts)', () => {
  it('provisions the committed dashboards and the in-cluster Prometheus, and may reach only Prometheus', async () => {
    const { committedDashboards, grafanaNetworkPolicies } = await import('../cluster/deploy/grafana.js');
    const files = await committedDashboards();
    expect(Object.keys(files)).toContain('authlab-overview.json');
    for (const text of Object.values(files)) expect((JSON.parse(text) as { uid?: string }).uid).toBeTruthy();
    const [datasources, , dashboards] = grafanaObjects('authlab-system', files, { prometheusUrl: 'http://10.96.0.9:9090' });
    expect(datasources.data!['prometheus.yaml']).toMatch(/url: http:\/\/10\.96\.0\.9:9090/);
    expect(Object.keys(dashboards.data!)).toEqual(Object.keys(files));
    const [egress, ingress] = grafanaNetworkPolicies('authlab-system');
    expect(egress!.spec!.egress).toEqual([
      { to: [{ podSelector: { matchLabels: { app: 'prometheus' } } }], ports: [{ protocol: 'TCP', port: 9090 }] },
    ]);
    expect(ingress!.spec!.podSelector).toEqual({ matchLabels: { app: 'prometheus' } });
  });
});
