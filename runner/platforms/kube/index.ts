import { join } from 'node:path';
import { teardownCluster } from '../../../cluster/down.js';
import { thisHostProfile } from '../../../cluster/deploy/cluster-profile.js';
import { directReach } from '../../../cluster/deploy/port-forward.js';
import { componentImages } from '../../../cluster/images/component-images.js';
import { importImages } from '../../../cluster/images/import.js';
import { clusterPaths, kubeCacheRoot } from '../../../cluster/paths.js';
import { readClusterState } from '../../../cluster/state.js';
import { clusterUp } from '../../../cluster/up.js';
import { KUBE_VERSION } from '../../../cluster/versions.js';
import { NET } from '../../../cluster/topology.js';
import type { ProvisionOptions } from '../platform.js';
import { clusterRedisImage, deployOnCluster, type ClusterPlatform } from './deployed.js';

/** The kube platform: the auth system deployed on this host's single-node cluster. */
export type KubePlatform = ClusterPlatform;

export interface KubeProvisionOptions extends ProvisionOptions {
  signal?: AbortSignal;
  /** How the IdP checks service-account tokens (default `tokenreview`). */
  subjectVerifier?: 'tokenreview' | 'jwks';
}

/**
 * Provisions the auth system on the kube platform: uses the running cluster (`authlab cluster up`) or
 * starts one (and then removes it on close), builds and imports the images, deploys with the default
 * grants and modes (sign on, verify enforce). `close()` deletes the namespaces it made.
 */
export async function startKubePlatform(opts: KubeProvisionOptions): Promise<KubePlatform> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const paths = clusterPaths();
  const existing = await readClusterState(paths.state);
  const ownCluster = existing?.status !== 'ready';
  if (ownCluster) {
    log('no cluster is up; starting one (`authlab cluster up`)…');
    await clusterUp({ log: (l) => log(`  ${l}`), ...(opts.signal ? { signal: opts.signal } : {}) });
  } else log(`using the running cluster (kubeconfig ${paths.kubeconfig})`);
  const dropCluster = async () => {
    if (ownCluster) await teardownCluster({ log });
  };
  let images;
  let redis: Awaited<ReturnType<typeof clusterRedisImage>>;
  try {
    images = await componentImages(join(kubeCacheRoot(), 'images'), log, opts);
    redis = await clusterRedisImage(opts.redis, log);
    const imported = await importImages('ctr', paths, [images.idp, images.sidecar, images.postgres, ...(redis ? [redis] : [])]);
    if (imported.length) log(`imported ${imported.join(', ')}`);
  } catch (err) {
    await dropCluster().catch(() => {});
    throw err;
  }
  return deployOnCluster({
    name: 'kube',
    kubeconfig: paths.kubeconfig,
    pairs: opts.pairs,
    images,
    kubernetesVersion: KUBE_VERSION,
    // The host is the node: ClusterIPs answer from here, and the load comes from the node address.
    profile: thisHostProfile(),
    reach: directReach,
    runnerAddress: NET.nodeIp,
    loadImages: async (more) => void (await importImages('ctr', paths, more)),
    startedAt: t0,
    ...(opts.subjectVerifier ? { subjectVerifier: opts.subjectVerifier } : {}),
    ...(opts.tokenTtlSeconds ? { tokenTtlSeconds: opts.tokenTtlSeconds } : {}),
    log,
    hostIsNode: true,
    ...(opts.calibrateUs ? { calibrateUs: opts.calibrateUs } : {}),
    ...(opts.dataPlane ? { dataPlane: true } : {}),
    ...(opts.dataPlane?.tokenPlane ? { tokenPlane: true } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(redis ? { redisImage: redis } : {}),
    afterClose: dropCluster,
  });
}
