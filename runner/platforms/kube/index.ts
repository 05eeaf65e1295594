import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { teardownCluster } from '../../../cluster/down.js';
import { deployAuthlab, undeployAuthlab, type KubeEndpoints } from '../../../cluster/deploy/deploy.js';
import { componentImages } from '../../../cluster/images/component-images.js';
import { importImages } from '../../../cluster/images/import.js';
import { clusterPaths, kubeCacheRoot } from '../../../cluster/paths.js';
import { readClusterState } from '../../../cluster/state.js';
import { clusterUp } from '../../../cluster/up.js';
import { KUBE_VERSION } from '../../../cluster/versions.js';
import { settingsForRunMode, type RunMode } from '../../../system/protocol/modes.js';
import { waitForRevision } from '../local/pair-mode.js';
import { sendJson } from '../local/http.js';
import { defaultGrants, servicesFor } from '../local/topology.js';
import type { Platform, ProvisionOptions } from '../platform.js';
import { createIdentityIssuer } from '../../../system/identity/issuer.js';
import { KUBE_STORM_ISSUER, kubeStormEnvironment } from './storm.js';

/** The kube platform: the auth system deployed on this host's single-node cluster. */
export interface KubePlatform extends Platform {
  readonly endpoints: KubeEndpoints;
  readonly kubernetesVersion: string;
  /** From start to every pod Ready (including `cluster up` when this platform started the cluster), ms. */
  readonly startupMs: number;
}

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
  let ep: KubeEndpoints | undefined;
  const namespaces = ['authlab-system', ...servicesFor(opts.pairs).map((s) => s.name)];
  // The platform lives in the cluster: no child process or socket of ours holds the event loop, so
  // without this handle `authlab up` would exit while it waits for Ctrl-C, leaving the pods behind.
  const holdOpen = setInterval(() => {}, 1 << 30);
  const close = async () => {
    clearInterval(holdOpen);
    try {
      await undeployAuthlab(paths.kubeconfig, ep?.namespaces ?? namespaces);
    } finally {
      if (ownCluster) await teardownCluster({ log });
    }
  };
  try {
    const images = await componentImages(join(kubeCacheRoot(), 'images'), log);
    const imported = await importImages('ctr', paths, [images.idp, images.sidecar, images.postgres]);
    if (imported.length) log(`imported ${imported.join(', ')}`);
    const services = servicesFor(opts.pairs).map((s) => ({
      ...s,
      peer: s.name.endsWith('-a') ? s.name.replace(/-a$/, '-b') : s.name.replace(/-b$/, '-a'),
    }));
    const localAdminToken = randomBytes(24).toString('hex');
    // The token storm's issuer: its 10,000 virtual services have no ServiceAccount here, so the IdP
    // trusts this issuer's public key, given inline (the key pair lives only in this process).
    const stormIssuer = createIdentityIssuer({ issuer: KUBE_STORM_ISSUER });
    ep = await deployAuthlab({
      extraTrustedIssuers: [{ issuer: stormIssuer.issuer, jwks: stormIssuer.jwks() }],
      kubeconfig: paths.kubeconfig,
      images,
      services,
      grants: defaultGrants(opts.pairs),
      localAdminToken,
      subjectVerifier: opts.subjectVerifier ?? 'tokenreview',
      ...(opts.tokenTtlSeconds ? { tokenTtlSeconds: opts.tokenTtlSeconds } : {}),
      log,
    });
    const endpoints = ep;
    const urlOf = (name: string) => endpoints.services.find((s) => s.name === name)?.url ?? '';
    const checkPair = (pair: number): [string, string] => {
      if (!Number.isInteger(pair) || pair < 1 || pair > opts.pairs) throw new RangeError(`pair must be 1..${opts.pairs} (got ${pair})`);
      return [`p${pair}-a`, `p${pair}-b`];
    };
    return {
      name: 'kube',
      endpoints,
      kubernetesVersion: KUBE_VERSION,
      startupMs: Math.round(performance.now() - t0),
      targetUrl(pair, mode) {
        const [a, b] = checkPair(pair);
        return mode === 'direct' ? `${urlOf(b)}/query` : `${urlOf(a)}/call/${b}/query`;
      },
      async setPairMode(pair: number, mode: RunMode) {
        const [a, b] = checkPair(pair);
        const s = settingsForRunMode(mode);
        const res = await sendJson<{ revision: number }>('PUT', `${endpoints.idp.url}/admin/settings`, endpoints.admin.token, {
          services: { [a]: s, [b]: s },
        });
        await Promise.all([a, b].map((name) => waitForRevision(urlOf(name), localAdminToken, res.revision, name)));
      },
      stormEnvironment: (o) => kubeStormEnvironment({ url: endpoints.idp.url, adminToken: endpoints.admin.token }, stormIssuer, o),
      close,
    };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
