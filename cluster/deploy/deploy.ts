import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { ClusterError } from '../errors.js';
import { DATA_PLANE_PATH, TOKEN_PLANE_PATH, type ComponentImages } from '../images/component-images.js';
import type { EndpointsFile } from '../../system/protocol/endpoints.js';
import { TOKEN_PATH } from '../../system/idp/routes/token-exchange.js';
import { apply, objectApi } from './apply.js';
import { thisHostProfile, type ClusterProfile } from './cluster-profile.js';
import { directReach, type Reach } from './port-forward.js';
import {
  APP_PORT,
  DATA_PLANE_PORT,
  idpObjects,
  idpService,
  SA_TOKEN_PATH,
  sidecarObjects,
  sidecarService,
  TOKEN_PLANE_PORT,
} from './components.js';
import { serviceNetworkPolicies, systemNetworkPolicies } from './network-policies.js';
import { PROMETHEUS_CLUSTER_ROLE } from './observability.js';
import { PG_PORT, postgresObjects } from './postgres.js';
import { redisObjects } from './redis.js';

export const SYSTEM_NAMESPACE = 'authlab-system';
const IN_POD_SA = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface DeployService {
  /** Service name = its namespace (the identity the IdP derives from the token), e.g. `p1-a`. */
  name: string;
  pair: number;
  database: string;
  /** The service whose sidecar it may call and be called by (its pair peer). */
  peer: string;
}

export interface DeployOptions {
  kubeconfig: string;
  images: ComponentImages;
  services: DeployService[];
  grants: { caller: string; target: string; roles: string[] }[];
  /** How the IdP checks service-account tokens of this cluster (default `tokenreview`). */
  subjectVerifier?: 'tokenreview' | 'jwks';
  tokenTtlSeconds?: number;
  /** When set, each sidecar's `/local/*` requires it (the runner reads `/local/status` to see settings applied). */
  localAdminToken?: string;
  log: (line: string) => void;
  /** Per Deployment, ms (default 180 000). */
  readyTimeoutMs?: number;
  /**
   * More issuers the IdP trusts, with their keys inline (the IdP cannot reach the runner's host):
   * the token storm's issuer, whose 10,000 virtual services have no ServiceAccount in the cluster.
   */
  extraTrustedIssuers?: { issuer: string; jwks: { keys: readonly object[] } }[];
  /**
   * The Redis image: when given, every service namespace also gets its own Redis (the `heavy-cached`
   * query cache, redis.ts) and its sidecar the matching `redis` config.
   */
  redisImage?: { ref: string };
  /** `--calibrate <µs>`: every sidecar busy-waits this long in enforce's verify stage (a test hook). */
  calibrateUs?: number;
  /** The cluster's addresses (default: the kube platform's node, {@link thisHostProfile}). */
  profile?: ClusterProfile;
  /** How the runner reaches a Service (default: its ClusterIP, as on the kube platform's node). */
  reach?: Reach;
  /** Aborts the waits for pods and Services (Ctrl-C or `authlab down` during start-up): ERR_ABORTED. */
  signal?: AbortSignal;
  /**
   * `--data-plane go`: every sidecar starts the Go data plane its image carries (`images.sidecar` must
   * be built with it) on {@link DATA_PLANE_PORT}, and its Service exposes that port too.
   */
  dataPlane?: boolean;
  /**
   * With it, the IdP starts the Go token plane its image carries (`images.idp` must be built with it) on
   * {@link TOKEN_PLANE_PORT}, its Service exposes that port, and discovery names it as the token endpoint.
   */
  tokenPlane?: boolean;
}

/** The local platform's endpoints.json (`EndpointsFile`), plus what only a cluster has. */
export interface KubeEndpoints extends Omit<EndpointsFile, 'services' | 'prometheus'> {
  /** On kind the `url`s (and `dataPlaneUrl`s) are loopback port-forward listeners. */
  services: (EndpointsFile['services'][number] & { namespace: string })[];
  kubeconfig: string;
  namespaces: string[];
  /** The same Services as pods reach them (ClusterIP URLs): what in-cluster load generators call. */
  inCluster: { idp: string; services: Record<string, string>; dataPlanes?: Record<string, string> };
}

const secret = () => randomBytes(24).toString('hex');

/** Throws ERR_ABORTED once `signal` is aborted (Ctrl-C or `authlab down` during a deploy). */
function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ClusterError('ERR_ABORTED', 'the deploy was interrupted');
}

async function waitAvailable(
  apps: AppsV1Api,
  namespace: string,
  name: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkAborted(signal);
    const d = await apps.readNamespacedDeployment({ name, namespace });
    if ((d.status?.readyReplicas ?? 0) >= 1) return;
    if (Date.now() > deadline)
      throw new ClusterError(
        'ERR_START_TIMEOUT',
        `deployment ${namespace}/${name} was not ready within ${timeoutMs / 1000} s; see \`kubectl -n ${namespace} describe pod\``,
      );
    await sleep(250);
  }
}

/**
 * A Ready pod is not yet a reachable Service: kube-proxy writes the ClusterIP's rules a moment later
 * (longer on a busy host), and until then connections are refused. Polls `url` from the host until it
 * answers 2xx (every 200 ms, up to `timeoutMs`, default 30 000 ms).
 */
async function waitServiceAnswers(url: string, what: string, signal: AbortSignal | undefined, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    checkAborted(signal);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new ClusterError('ERR_START_TIMEOUT', `${what} did not answer at ${url} within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

async function sendAdmin(url: string, token: string, method: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new ClusterError('ERR_COMMAND_FAILED', `${method} ${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
}

/**
 * Deploys the auth system onto the cluster with @kubernetes/client-node: `authlab-system` (IdP + its
 * PostgreSQL, TokenReview rights), one namespace per service (sidecar with a projected token + its own
 * PostgreSQL), default-deny NetworkPolicies with the few allowed paths, then the grants through the
 * IdP's admin API before any sidecar asks for a token. Resolves once every pod is Ready.
 */
export async function deployAuthlab(opts: DeployOptions): Promise<KubeEndpoints> {
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfig);
  const api = objectApi(kc);
  const apps = kc.makeApiClient(AppsV1Api);
  const timeoutMs = opts.readyTimeoutMs ?? 180_000;
  const sys = SYSTEM_NAMESPACE;
  const t0 = performance.now();
  const profile = opts.profile ?? thisHostProfile();
  const reach = opts.reach ?? directReach;
  const step = (what: string) => opts.log(`${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  await apply(api, 'Namespace', { metadata: { name: sys, labels: { 'authlab.dev/role': 'system' } } });
  for (const s of opts.services)
    await apply(api, 'Namespace', {
      metadata: { name: s.name, labels: { 'authlab.dev/role': 'service', 'authlab.dev/pair': String(s.pair) } },
    });
  // Services first: without cluster DNS, every component is configured with ClusterIPs.
  const ip = (svc: V1Service) => svc.spec?.clusterIP ?? '';
  const idpIp = ip(await apply(api, 'Service', idpService(sys, opts.tokenPlane)));
  const idpUrl = `http://${idpIp}:${APP_PORT}`;
  const tokenPlaneUrl = `http://${idpIp}:${TOKEN_PLANE_PORT}`;
  const sidecarUrl = new Map<string, string>();
  const dataPlaneUrl = new Map<string, string>();
  for (const s of opts.services) {
    const sidecarIp = ip(await apply(api, 'Service', sidecarService(s.name, opts.dataPlane)));
    sidecarUrl.set(s.name, `http://${sidecarIp}:${APP_PORT}`);
    if (opts.dataPlane) dataPlaneUrl.set(s.name, `http://${sidecarIp}:${DATA_PLANE_PORT}`);
  }
  for (const p of [
    ...systemNetworkPolicies(sys, profile),
    ...opts.services.flatMap((s) => serviceNetworkPolicies(s.name, s.peer, sys, profile)),
  ])
    await apply(api, 'NetworkPolicy', p);
  step('namespaces, Services and NetworkPolicies applied');

  const idpPg = postgresObjects(sys, opts.images.postgres.ref, 'idp', 'idp', secret());
  const idpDbIp = ip(await apply(api, 'Service', idpPg.service));
  const idpDbUrl = `postgres://idp:${idpPg.secret.stringData!.password}@${idpDbIp}:${PG_PORT}/idp`;
  for (const [kind, o] of [
    ['Secret', idpPg.secret],
    ['ConfigMap', idpPg.hba],
    ['Deployment', idpPg.deployment],
  ] as const)
    await apply(api, kind, o);
  const adminToken = secret();
  const trusted =
    opts.subjectVerifier === 'jwks'
      ? { issuer: profile.issuer, jwksUri: profile.jwksUri ?? `${profile.apiServerUrl}/openid/v1/jwks` }
      : {
          issuer: profile.issuer,
          verify: 'tokenreview',
          tokenReview: { apiServer: profile.apiServerUrl, caFile: `${IN_POD_SA}/ca.crt`, tokenFile: `${IN_POD_SA}/token` },
        };
  const ttl = opts.tokenTtlSeconds ?? 300;
  const idp = idpObjects(sys, opts.images.idp.ref, {
    host: '0.0.0.0',
    port: APP_PORT,
    issuer: idpUrl,
    databaseUrl: idpDbUrl,
    adminToken,
    trustedIssuers: [trusted, ...(opts.extraTrustedIssuers ?? [])],
    tokenTtlSeconds: ttl,
    // The runner cannot reach the cluster's databases: the components export their sizes themselves.
    postgresStats: true,
    initialSettings: { global: { signMode: 'on', verifyMode: 'enforce', tokenTtlSeconds: ttl }, services: {} },
    // Discovery names the token plane by its Service address, which is not where it listens in the pod.
    ...(opts.tokenPlane ? { tokenPlane: { binary: TOKEN_PLANE_PATH, port: TOKEN_PLANE_PORT, url: tokenPlaneUrl } } : {}),
  });
  await apply(api, 'ServiceAccount', idp.sa);
  await apply(api, 'ClusterRoleBinding', idp.binding);
  await apply(api, 'Secret', idp.secret);
  await apply(api, 'Deployment', idp.deployment);

  // Service databases (and query caches) start while the IdP boots.
  const cache = new Map<string, { url: string; prefix: string }>();
  if (opts.redisImage) {
    for (const s of opts.services) {
      const r = redisObjects(s.name, opts.redisImage.ref);
      cache.set(s.name, r.sidecarConfig(ip(await apply(api, 'Service', r.service))));
      await apply(api, 'Secret', r.secret);
      await apply(api, 'Deployment', r.deployment);
    }
  }
  const dbUrl = new Map<string, string>();
  for (const s of opts.services) {
    const pg = postgresObjects(s.name, opts.images.postgres.ref, s.database, s.database, secret());
    const dbIp = ip(await apply(api, 'Service', pg.service));
    dbUrl.set(s.name, `postgres://${s.database}:${pg.secret.stringData!.password}@${dbIp}:${PG_PORT}/${s.database}`);
    for (const [kind, o] of [
      ['Secret', pg.secret],
      ['ConfigMap', pg.hba],
      ['Deployment', pg.deployment],
    ] as const)
      await apply(api, kind, o);
  }
  await waitAvailable(apps, sys, 'db', timeoutMs, opts.signal);
  await waitAvailable(apps, sys, 'idp', timeoutMs, opts.signal);
  const idpReached = await reach(sys, 'idp', idpUrl);
  await waitServiceAnswers(`${idpReached}/healthz`, 'the IdP', opts.signal);
  // Healthy only once its token plane holds the state; the Service's second port may be a moment behind.
  const tokenPlaneReached = opts.tokenPlane ? await reach(sys, 'idp', tokenPlaneUrl) : undefined;
  if (tokenPlaneReached) await waitServiceAnswers(`${tokenPlaneReached}/healthz`, "the IdP's token plane", opts.signal);
  step(`IdP ready at ${idpReached}`);
  for (const g of opts.grants) await sendAdmin(`${idpReached}/admin/grants`, adminToken, 'PUT', g);
  step(`${opts.grants.length} grants set`);

  for (const s of opts.services) {
    const peers = Object.fromEntries(opts.services.filter((o) => o.name !== s.name).map((o) => [o.name, sidecarUrl.get(o.name)!]));
    const sc = sidecarObjects(
      s.name,
      opts.images.sidecar.ref,
      {
        host: '0.0.0.0',
        port: APP_PORT,
        service: s.name,
        pair: s.pair,
        databaseUrl: dbUrl.get(s.name)!,
        idpUrl,
        saTokenPath: SA_TOKEN_PATH,
        peers,
        ...(opts.localAdminToken ? { localAdminToken: opts.localAdminToken } : {}),
        ...(cache.has(s.name) ? { redis: cache.get(s.name)! } : {}),
        postgresStats: true,
        ...(opts.dataPlane ? { dataPlane: { binary: DATA_PLANE_PATH, port: DATA_PLANE_PORT } } : {}),
      },
      opts.calibrateUs,
    );
    await apply(api, 'ServiceAccount', sc.sa);
    await apply(api, 'Secret', sc.secret);
    await apply(api, 'Deployment', sc.deployment);
  }
  const reached = new Map<string, string>();
  const reachedDataPlane = new Map<string, string>();
  for (const s of opts.services) {
    await waitAvailable(apps, s.name, 'db', timeoutMs, opts.signal);
    if (cache.has(s.name)) await waitAvailable(apps, s.name, 'redis', timeoutMs, opts.signal);
    await waitAvailable(apps, s.name, 'sidecar', timeoutMs, opts.signal);
    reached.set(s.name, await reach(s.name, 'sidecar', sidecarUrl.get(s.name)!));
    await waitServiceAnswers(`${reached.get(s.name)}/readyz`, `${s.name}'s sidecar`, opts.signal);
    // The sidecar is ready only once its data plane holds its token; the Service's second port may
    // still be a moment behind (kube-proxy).
    if (opts.dataPlane) {
      reachedDataPlane.set(s.name, await reach(s.name, 'sidecar', dataPlaneUrl.get(s.name)!));
      await waitServiceAnswers(`${reachedDataPlane.get(s.name)}/healthz`, `${s.name}'s data plane`, opts.signal);
    }
  }
  step(`${opts.services.length} services ready`);
  return {
    idp: { url: idpReached, ...(tokenPlaneReached ? { tokenEndpoint: `${tokenPlaneReached}${TOKEN_PATH}` } : {}) },
    inCluster: {
      idp: idpUrl,
      services: Object.fromEntries(sidecarUrl),
      ...(opts.dataPlane ? { dataPlanes: Object.fromEntries(dataPlaneUrl) } : {}),
    },
    admin: { token: adminToken },
    postgres: { url: idpDbUrl },
    services: opts.services.map((s) => ({
      name: s.name,
      pair: s.pair,
      url: reached.get(s.name)!,
      ...(reachedDataPlane.has(s.name) ? { dataPlaneUrl: reachedDataPlane.get(s.name)! } : {}),
      saTokenPath: `${s.name}/sidecar:${SA_TOKEN_PATH}`,
      database: s.database,
      namespace: s.name,
    })),
    kubeconfig: opts.kubeconfig,
    namespaces: [sys, ...opts.services.map((s) => s.name)],
  };
}

/**
 * Removes what {@link deployAuthlab} made (its namespaces, with everything in them, the IdP's
 * ClusterRoleBinding and, after `--observe`, Prometheus's ClusterRole and binding) and waits until the namespaces are gone (default 120 000 ms).
 */
export async function undeployAuthlab(kubeconfig: string, namespaces: readonly string[], timeoutMs = 120_000): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = objectApi(kc);
  const gone = (err: unknown) => {
    if ((err as { code?: number }).code !== 404) throw err;
  };
  await api
    .delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'authlab:idp-auth-delegator' } })
    .catch(gone);
  for (const kind of ['ClusterRoleBinding', 'ClusterRole'])
    await api.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name: PROMETHEUS_CLUSTER_ROLE } }).catch(gone);
  await deleteNamespaces(kc, namespaces, timeoutMs);
}

/**
 * Deletes `namespaces` and resolves once they are gone (404), not merely Terminating: whoever asked
 * for a clean cluster (a test comparing before and after, the next deploy) sees one.
 */
export async function deleteNamespaces(kc: KubeConfig, namespaces: readonly string[], timeoutMs = 120_000): Promise<void> {
  const api = objectApi(kc);
  const gone = (err: unknown) => {
    if ((err as { code?: number }).code !== 404) throw err;
  };
  for (const name of namespaces) await api.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }).catch(gone);
  const deadline = Date.now() + timeoutMs;
  for (const name of namespaces) {
    for (;;) {
      const exists = await api.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }).then(
        () => true,
        (err: unknown) => (gone(err), false),
      );
      if (!exists) break;
      if (Date.now() > deadline)
        throw new ClusterError('ERR_START_TIMEOUT', `namespace ${name} was not deleted within ${timeoutMs / 1000} s`);
      await sleep(250);
    }
  }
}
