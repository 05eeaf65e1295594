import { randomBytes } from 'node:crypto';
import type { ClusterProfile } from '../../../cluster/deploy/cluster-profile.js';
import { deployAuthlab, undeployAuthlab, type KubeEndpoints } from '../../../cluster/deploy/deploy.js';
import type { Reach } from '../../../cluster/deploy/port-forward.js';
import { deployPrometheus, type InClusterPrometheus } from '../../../cluster/deploy/prometheus.js';
import { deployGrafana } from '../../../cluster/deploy/grafana.js';
import { observeBinaries } from '../../../cluster/build.js';
import { prometheusImage } from '../../../cluster/images/prometheus-image.js';
import { kubeCacheRoot } from '../../../cluster/paths.js';
import { join } from 'node:path';
import type { ComponentImages } from '../../../cluster/images/component-images.js';
import type { PlatformName } from '../../../results/schema.js';
import { settingsForRunMode, type RunMode } from '../../../system/protocol/modes.js';
import { sendJson } from '../local/http.js';
import { waitForRevision } from '../local/pair-mode.js';
import { defaultGrants, servicesFor } from '../local/topology.js';
import type { Platform } from '../platform.js';
import { createIdentityIssuer } from '../../../system/identity/issuer.js';
import { KUBE_STORM_ISSUER, kubeStormEnvironment } from './storm.js';
import { hostNodeFaults } from './faults.js';
import { redisImage } from '../../../cluster/images/redis-image.js';
import { findRedisServer } from '../local/redis.js';
import { PlatformError } from '../local/errors.js';
import { KubeConfig } from '@kubernetes/client-node';

/** A platform whose auth system runs in a Kubernetes cluster (kube, kind, any cluster behind `--kubeconfig`). */
export interface ClusterPlatform extends Platform {
  readonly endpoints: KubeEndpoints;
  readonly kubernetesVersion: string;
  /** From start to every pod Ready (including creating the cluster when the platform did), ms. */
  readonly startupMs: number;
  /** Puts more image archives on the cluster's nodes, the way the platform loaded its own (e.g. the k6 image). */
  loadImages(images: readonly { ref: string; archive: string }[]): Promise<void>;
  /**
   * `--observe`: deploys Prometheus into `authlab-system` (built and packed first when missing) scraping
   * the IdP and sidecars found by pod discovery, and the runner's `/metrics` at `runnerPort` when pods can
   * reach the runner (`runnerAddress`); resolves once its API answers. Deleted with the namespaces.
   */
  startPrometheus(o: { runnerPort?: number; signal?: AbortSignal }): Promise<InClusterPrometheus>;
  /** Where pods reach the runner's host (kube: the node address); absent behind port-forwards (kind). */
  readonly runnerAddress?: string;
  /** The images it deployed (the sidecar's with the Go data plane under `--data-plane go`), loaded on the nodes. */
  readonly images: ComponentImages;
}

export interface DeployOnClusterOptions {
  name: PlatformName;
  kubeconfig: string;
  pairs: number;
  images: ComponentImages;
  kubernetesVersion: string;
  profile: ClusterProfile;
  reach: Reach;
  /** `performance.now()` when provisioning began (for `startupMs`). */
  startedAt: number;
  subjectVerifier?: 'tokenreview' | 'jwks';
  tokenTtlSeconds?: number;
  /** `--calibrate <µs>` (the sidecars' test hook), set in their pods' environment. */
  calibrateUs?: number;
  /** `--data-plane go`: the sidecar image carries the data plane, every sidecar starts it, `/call` goes there. */
  dataPlane?: boolean;
  /** The IdP image carries the Go token plane: the IdP starts it (deployAuthlab's `tokenPlane`). */
  tokenPlane?: boolean;
  /** Ctrl-C or `authlab down` during start-up: the deploy stops waiting, and what it made is removed. */
  signal?: AbortSignal;
  /** Loaded on the nodes already: every service gets its own Redis query cache (cluster/deploy/redis.ts). */
  redisImage?: { ref: string };
  log: (line: string) => void;
  loadImages: (images: readonly { ref: string; archive: string }[]) => Promise<void>;
  /**
   * The cluster's node is this host (kube): its containers' processes are ours to signal, so the
   * platform offers the fault scenarios' outages ({@link hostNodeFaults}).
   */
  hostIsNode?: boolean;
  /** With `--observe`, also Grafana from its public image, datasource and dashboards provisioned (kind). */
  grafana?: boolean;
  /** Where pods reach the runner's host (kube: the node address); absent when they cannot (kind). */
  runnerAddress?: string;
  /** Runs after the namespaces are deleted on close (stop port-forwards, delete a cluster the platform made). */
  afterClose?: () => Promise<void>;
}

/**
 * The part the kube and kind platforms share: deploys the auth system (cluster/deploy) with the default
 * grants and modes (sign on, verify enforce) and returns the {@link Platform} on it. `close()` deletes
 * the namespaces it made, then runs `afterClose`; a failed deploy closes the same way before throwing.
 */
export async function deployOnCluster(o: DeployOnClusterOptions): Promise<ClusterPlatform> {
  let ep: KubeEndpoints | undefined;
  const namespaces = ['authlab-system', ...servicesFor(o.pairs).map((s) => s.name)];
  // The platform lives in the cluster: no child process or socket of ours holds the event loop, so
  // without this handle `authlab up` would exit while it waits for Ctrl-C, leaving the pods behind.
  const holdOpen = setInterval(() => {}, 1 << 30);
  const close = async () => {
    clearInterval(holdOpen);
    try {
      await undeployAuthlab(o.kubeconfig, ep?.namespaces ?? namespaces);
    } finally {
      await o.afterClose?.();
    }
  };
  try {
    const services = servicesFor(o.pairs).map((s) => ({
      ...s,
      peer: s.name.endsWith('-a') ? s.name.replace(/-a$/, '-b') : s.name.replace(/-b$/, '-a'),
    }));
    const localAdminToken = randomBytes(24).toString('hex');
    // The token storm's issuer: its 10,000 virtual services have no ServiceAccount in the cluster, so
    // the IdP trusts this issuer's public key, given inline (the key pair lives only in this process).
    const stormIssuer = createIdentityIssuer({ issuer: KUBE_STORM_ISSUER });
    ep = await deployAuthlab({
      extraTrustedIssuers: [{ issuer: stormIssuer.issuer, jwks: stormIssuer.jwks() }],
      ...(o.redisImage ? { redisImage: o.redisImage } : {}),
      ...(o.calibrateUs ? { calibrateUs: o.calibrateUs } : {}),
      ...(o.dataPlane ? { dataPlane: true } : {}),
      ...(o.tokenPlane ? { tokenPlane: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      kubeconfig: o.kubeconfig,
      images: o.images,
      services,
      grants: defaultGrants(o.pairs),
      localAdminToken,
      subjectVerifier: o.subjectVerifier ?? 'tokenreview',
      profile: o.profile,
      reach: o.reach,
      ...(o.tokenTtlSeconds ? { tokenTtlSeconds: o.tokenTtlSeconds } : {}),
      log: o.log,
    });
    const endpoints = ep;
    const urlOf = (name: string) => endpoints.services.find((s) => s.name === name)?.url ?? '';
    const callBaseOf = (name: string) => endpoints.services.find((s) => s.name === name)?.dataPlaneUrl ?? urlOf(name);
    const checkPair = (pair: number): [string, string] => {
      if (!Number.isInteger(pair) || pair < 1 || pair > o.pairs) throw new RangeError(`pair must be 1..${o.pairs} (got ${pair})`);
      return [`p${pair}-a`, `p${pair}-b`];
    };
    return {
      name: o.name,
      ...(o.dataPlane ? { dataPlane: 'go' as const } : {}),
      endpoints,
      kubernetesVersion: o.kubernetesVersion,
      images: o.images,
      startupMs: Math.round(performance.now() - o.startedAt),
      loadImages: o.loadImages,
      targetUrl(pair, mode) {
        const [a, b] = checkPair(pair);
        return mode === 'direct' ? `${urlOf(b)}/query` : `${callBaseOf(a)}/call/${b}/query`;
      },
      async setPairMode(pair: number, mode: RunMode) {
        const [a, b] = checkPair(pair);
        const s = settingsForRunMode(mode);
        const res = await sendJson<{ revision: number }>('PUT', `${endpoints.idp.url}/admin/settings`, endpoints.admin.token, {
          services: { [a]: s, [b]: s },
        });
        await Promise.all([a, b].map((name) => waitForRevision(urlOf(name), localAdminToken, res.revision, name)));
      },
      ...(o.hostIsNode ? { faults: clusterFaults(o.kubeconfig) } : {}),
      ...(o.runnerAddress ? { runnerAddress: o.runnerAddress } : {}),
      async startPrometheus(po) {
        const bins = await observeBinaries(o.log, po.signal ? { signal: po.signal } : {});
        const image = await prometheusImage(join(kubeCacheRoot(), 'images'), bins.prometheus, o.log);
        await o.loadImages([image]);
        const prometheus = await deployPrometheus({
          kubeconfig: o.kubeconfig,
          image: image.ref,
          serviceNamespaces: endpoints.services.map((s) => s.namespace),
          profile: o.profile,
          reach: o.reach,
          ...(o.runnerAddress && po.runnerPort ? { runnerTarget: `${o.runnerAddress}:${po.runnerPort}` } : {}),
          log: o.log,
        });
        if (!o.grafana) return prometheus;
        const grafana = await deployGrafana({
          kubeconfig: o.kubeconfig,
          prometheusUrl: prometheus.inClusterUrl,
          reach: o.reach,
          log: o.log,
        });
        return grafana ? { ...prometheus, grafana } : prometheus;
      },
      stormEnvironment: (so) =>
        kubeStormEnvironment(
          {
            url: endpoints.idp.url,
            adminToken: endpoints.admin.token,
            ...(endpoints.idp.tokenEndpoint ? { tokenEndpoint: endpoints.idp.tokenEndpoint } : {}),
          },
          stormIssuer,
          so,
        ),
      close,
    };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}

/** Outages on the kube platform: the IdP, and the database of pair 1's target (the pair fault runs load). */
function clusterFaults(kubeconfig: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return hostNodeFaults(kc, {
    idp: { namespace: 'authlab-system', app: 'idp', container: 'idp' },
    postgres: { namespace: 'p1-b', app: 'db', container: 'postgres' },
  });
}

/**
 * The Redis image for `heavy-cached` on a cluster, built from this host's redis-server like the local
 * platform's; undefined when not asked for.
 *
 * @throws PlatformError ERR_TOOL_MISSING (exit 2) when redis-server is not installed.
 */
export async function clusterRedisImage(wanted: boolean | undefined, log: (line: string) => void) {
  if (!wanted) return undefined;
  const bin = findRedisServer();
  if (bin === null) {
    throw new PlatformError(
      'ERR_TOOL_MISSING',
      "redis-server is not installed; the heavy-cached scenario packs it into the cluster's Redis image: apt-get install redis-server (Debian), then run again",
    );
  }
  return redisImage(join(kubeCacheRoot(), 'images'), bin, log);
}
