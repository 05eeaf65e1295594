import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { clusterPaths } from '../cluster/paths.js';
import type { KubeEndpoints } from '../cluster/deploy/deploy.js';
import type { Results } from '../results/schema.js';
import { runAuthlab, startAuthlab } from './support/cli.js';
import { acquireClusterLock, kubeSkipReason } from './support/kube.js';

// `authlab up|down|study --platform kube` as a user runs them, on a cluster that is already up.
const skip = await kubeSkipReason();
if (skip) console.warn(`SKIP test/kube-platform.test.ts: ${skip}`);

let unlock: (() => Promise<void>) | undefined;
let runs: string;

describe.skipIf(!!skip)('authlab up / study --platform kube', () => {
  beforeAll(async () => {
    unlock = await acquireClusterLock();
    runs = await mkdtemp(join(tmpdir(), 'authlab-kube-platform-'));
    const up = await runAuthlab(['cluster', 'up'], {}, 900_000);
    expect(up.code, up.stderr).toBe(0);
  }, 900_000);

  afterAll(async () => {
    await runAuthlab(['cluster', 'down'], {}, 120_000);
    if (runs) await rm(runs, { recursive: true, force: true });
    await unlock?.();
  }, 130_000);

  it('up writes endpoints.json (local shape + kubeconfig and namespaces); calls work, also through --data-plane go; --redis gives each service its query cache; down removes the namespaces', async () => {
    const up = startAuthlab(['up', '--platform', 'kube', '--pairs', '1', '--redis', '--data-plane', 'go'], { AUTHLAB_RUNS_DIR: runs });
    const exited = new Promise<number | null>((res) => up.on('exit', res));
    try {
      const file = join(runs, 'up', 'endpoints.json');
      let ep: KubeEndpoints | undefined;
      // Up to 5 min: the first deploy after a change to the system's code packs its images first.
      for (let i = 0; i < 1500 && !ep && up.exitCode === null; i++) {
        await sleep(200);
        ep = await readFile(file, 'utf8').then(
          (t) => JSON.parse(t) as KubeEndpoints,
          () => undefined,
        );
      }
      expect(ep?.kubeconfig).toBe(clusterPaths().kubeconfig);
      expect(ep?.namespaces).toEqual(['authlab-system', 'p1-a', 'p1-b']);
      expect(ep?.services.map((s) => [s.name, s.pair, s.database, s.namespace])).toEqual([
        ['p1-a', 1, 'svc_p1_a', 'p1-a'],
        ['p1-b', 1, 'svc_p1_b', 'p1-b'],
      ]);
      expect(ep?.admin.token).toMatch(/^[0-9a-f]{48}$/);
      const res = await fetch(`${ep!.services[0]!.url}/call/p1-b/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'light', params: { id: 1 } }),
      });
      expect(res.status).toBe(200);

      // --data-plane go: each sidecar pod runs the Go data plane its image carries, on the Service's
      // second port. A signed call through it passes p1-b's enforce; only the data plane listens there
      // (the Node sidecar's own routes, such as /readyz, are not served on it).
      const dataPlane = ep!.services[0]!.dataPlaneUrl!;
      expect(dataPlane).toMatch(/^http:\/\/10\.96\.\d+\.\d+:8081$/);
      const viaGo = await fetch(`${dataPlane}/call/p1-b/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'light', params: { id: 2 } }),
      });
      expect(viaGo.status, await viaGo.clone().text()).toBe(200);
      expect(((await viaGo.json()) as { rows: { id: number }[] }).rows[0]!.id).toBe(2);
      expect(viaGo.headers.get('server-timing')).toMatch(/^sign;dur=[\d.]+, .*peer-verify;dur=/);
      expect((await fetch(`${dataPlane}/readyz`)).status).toBe(404);
      expect(await (await fetch(`${dataPlane}/healthz`)).json()).toEqual({ status: 'ok', service: 'p1-a' });

      // ... and the IdP runs its Go token plane on its Service's port 8082, which discovery names as the
      // token endpoint: the sidecars took their tokens there, and the node reaches it (NetworkPolicy).
      const idpUrl = ep!.idp.url;
      const discovery = (await (await fetch(`${idpUrl}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
      expect(discovery.token_endpoint).toMatch(/^http:\/\/10\.96\.\d+\.\d+:8082\/oauth2\/token$/);
      expect(ep!.idp.tokenEndpoint).toBe(discovery.token_endpoint); // the node reaches the ClusterIP as pods do
      expect(await (await fetch(`${idpUrl}/healthz`)).json()).toMatchObject({ ok: true, tokenPlane: { running: true, restarts: 0 } });
      const refused = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      expect(refused.status).toBe(400); // the IdP's own refusal, relayed
      expect(((await refused.json()) as { error: string }).error).toBe('invalid_request');
      const idpMetrics = await (await fetch(`${idpUrl}/metrics`)).text();
      expect(Number(/^token_result_total\{result="issued"\} (\d+)/m.exec(idpMetrics)?.[1])).toBeGreaterThanOrEqual(2);

      // heavy-cached through p1-b's own Redis pod: a miss, then a hit with the same rows, then a
      // write invalidates it; the target sidecar's counters say so.
      const post = async (body: unknown) => {
        const r = await fetch(`${ep!.services[0]!.url}/call/p1-b/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(r.status, await r.clone().text()).toBe(200);
        return (await r.json()) as { rows: unknown[] };
      };
      const heavy = { query: 'heavy-cached', params: { n: 10_000 } };
      const first = await post(heavy);
      expect((await post(heavy)).rows).toEqual(first.rows);
      await post({ query: 'write', params: { note: 'invalidate' } });
      const metrics = await (await fetch(`${ep!.services[1]!.url}/metrics`)).text();
      const count = (result: string) =>
        Number(new RegExp(`^query_cache_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
      expect({ hit: count('hit'), miss: count('miss'), invalidated: count('invalidated'), error: count('error') }).toEqual({
        hit: 1,
        miss: 1,
        invalidated: 1,
        error: 0,
      });

      const down = await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: runs }, 120_000);
      expect(down.code, down.stderr).toBe(0);
      expect(await exited).toBe(0);
      const kc = new KubeConfig();
      kc.loadFromFile(clusterPaths().kubeconfig);
      const names = (await kc.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name);
      expect(names.filter((n) => n === 'authlab-system' || /^p\d+-[ab]$/.test(n ?? ''))).toEqual([]);
    } finally {
      // Only when an assertion failed before `down`: stop the `up` by its pid and let it clean up.
      if (up.exitCode === null) {
        up.kill('SIGTERM');
        await exited;
      }
    }
  }, 480_000);

  it('study --quick records platform kube and the Kubernetes version, with every run valid; the storm drives the IdP pod; faults are injected into the pods', async () => {
    const out = join(runs, 'study');
    const r = await runAuthlab(
      [
        'study',
        '--platform',
        'kube',
        '--quick',
        '--scenarios',
        'light,token-storm,idp-outage,db-restart,key-rotation',
        '--pairs',
        '2',
        '--out',
        out,
      ],
      { AUTHLAB_RUNS_DIR: runs },
      600_000,
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as Results;
    expect(results.study.platform).toBe('kube');
    expect(results.study.env.kubernetes).toBe('v1.34.4');
    expect(results.runs.length).toBeGreaterThan(0);
    // Every run valid, except that on a busy host a run may fall short of its schedule (the load
    // generator shares the 2 cores with the cluster): that is a latency-only invalidity the study
    // reports itself. A run invalid for anything else (errors, wrong mode, a component died) fails here.
    expect(
      results.runs.filter((x) => !x.valid && !(x.invalidFor === 'latency' && /^delivered \d+ of/.test(x.invalidReason ?? ''))),
    ).toEqual([]);
    expect(await readFile(join(out, 'summary.md'), 'utf8')).toMatch(/kube platform.*Kubernetes v1\.34\.4/s);
    // The storm's tokens were exchanged by the cluster's IdP (it trusts the storm's issuer inline),
    // not by a dedicated IdP on the host: the progress log names the IdP's ClusterIP URL.
    expect(results.tokenStorm.length).toBeGreaterThan(0);
    for (const t of results.tokenStorm) {
      expect(t.idp).toBe('platform');
      expect(t.issued).toBeGreaterThan(0);
      expect(t.failed).toBe(0);
    }
    expect(r.stderr).toMatch(/the cluster's IdP at http:\/\/10\.96\.77\.\d+:\d+ takes the storm/);
    expect(r.stderr).not.toMatch(/storm: postgres up/);
    // Faults: the IdP container SIGKILLed and p1-b's PostgreSQL stopped by their host pids, restarted
    // by the kubelet in the same pod; each scenario's target held (the study exits 1 otherwise).
    const fault = (name: string) => results.faults?.find((f) => f.scenario === name)?.fault;
    expect(results.faults?.map((f) => f.scenario).sort()).toEqual(['db-restart', 'idp-outage', 'key-rotation']);
    for (const f of results.faults ?? []) {
      expect(f.targets.length, f.scenario).toBeGreaterThan(0);
      expect(
        f.targets.filter((t) => !t.met),
        f.scenario,
      ).toEqual([]);
    }
    expect(fault('idp-outage')).toMatch(/SIGKILL of the IdP \(pod authlab-system\/idp-[\w-]+ container idp, host pid \d+\)/);
    expect(fault('db-restart')).toMatch(/PostgreSQL postmaster \(pod p1-b\/db-[\w-]+ container postgres, host pid \d+\)/);
  }, 600_000);
});
