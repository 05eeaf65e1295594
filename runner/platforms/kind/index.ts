import { access, constants, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { discoverProfile } from '../../../cluster/deploy/cluster-profile.js';
import { startPortForwards } from '../../../cluster/deploy/port-forward.js';
import { componentImages } from '../../../cluster/images/component-images.js';
import { kindCommands, shown } from '../../../cluster/kind/commands.js';
import { KIND_CONFIG_PATH, kindKubeconfigPath, readKindConfig } from '../../../cluster/kind/config.js';
import { hostContainerdLoader, kindLoader, preloadedLoader, runCommand, type ImageLoader } from '../../../cluster/kind/load.js';
import { findTool, requireKindTools } from '../../../cluster/kind/preflight.js';
import { clusterPaths, kubeCacheRoot } from '../../../cluster/paths.js';
import { UsageError } from '../../../system/protocol/errors.js';
import type { ProvisionOptions } from '../platform.js';
import { clusterRedisImage, deployOnCluster, type ClusterPlatform } from '../kube/deployed.js';

export interface KindProvisionOptions extends ProvisionOptions {
  signal?: AbortSignal;
  /** An existing cluster to deploy to instead of creating a kind cluster (kind or any other). */
  kubeconfig?: string;
  /** Keep a kind cluster this platform created when it closes (default: delete it). */
  keepCluster?: boolean;
  /** How the IdP checks service-account tokens (default `tokenreview`). */
  subjectVerifier?: 'tokenreview' | 'jwks';
}

/** Where the cluster came from, and how images reach it. */
interface Target {
  kubeconfig: string;
  loader: ImageLoader;
  /** Deletes the kind cluster this platform created (absent when it keeps or did not create one). */
  drop?: () => Promise<void>;
}

/**
 * A cluster behind `--kubeconfig`: a kind cluster (context `kind-<name>`) gets `kind load image-archive`;
 * this host's kube cluster gets `ctr images import`; any other must hold the images already.
 */
async function existingCluster(path: string, log: (line: string) => void): Promise<Target> {
  const kubeconfig = resolve(path);
  try {
    await access(kubeconfig, constants.R_OK);
  } catch {
    throw new UsageError(`\`--kubeconfig\` must be a readable kubeconfig file (cannot read '${path}')`);
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const context = kc.getCurrentContext();
  const kindName = /^kind-(.+)$/.exec(context)?.[1];
  const kind = kindName ? await findTool('kind') : null;
  const loader =
    kindName && kind
      ? kindLoader((archive) => ({ file: kind, args: ['load', 'image-archive', archive, '--name', kindName], timeoutMs: 300_000 }), log)
      : kubeconfig === resolve(clusterPaths().kubeconfig)
        ? hostContainerdLoader(clusterPaths())
        : preloadedLoader(log);
  log(`using the cluster of ${kubeconfig} (context ${context}); images: ${loader.description}`);
  return { kubeconfig, loader };
}

/** Creates the kind cluster of cluster/kind.yaml (or reuses one of that name), after checking docker and kind. */
async function kindCluster(keep: boolean, log: (line: string) => void): Promise<Target> {
  const config = await readKindConfig();
  const tools = await requireKindTools();
  const kubeconfig = kindKubeconfigPath(config.name);
  await mkdir(dirname(kubeconfig), { recursive: true });
  const cmds = kindCommands(tools.kind, config, KIND_CONFIG_PATH, kubeconfig);
  const exists = (await runCommand(cmds.list)).split('\n').includes(config.name);
  let drop: (() => Promise<void>) | undefined;
  if (exists) {
    log(`using the existing kind cluster '${config.name}' (kept afterwards)`);
    await runCommand(cmds.exportKubeconfig);
  } else {
    log(`creating kind cluster '${config.name}' (${config.nodeImage})…`);
    log(`$ ${shown(cmds.create)}`);
    await runCommand(cmds.create);
    if (!keep)
      drop = async () => {
        log(`$ ${shown(cmds.delete)}`);
        await runCommand(cmds.delete);
      };
  }
  return { kubeconfig, loader: kindLoader(cmds.load, log), ...(drop ? { drop } : {}) };
}

/**
 * The kind platform: creates a kind cluster from cluster/kind.yaml (or targets `--kubeconfig`), loads
 * the same OCI archives the kube platform imports, deploys the same objects, and reaches the sidecars
 * and the IdP through port-forwards. `close()` deletes the namespaces, stops the forwards and deletes
 * the cluster it created (unless `keepCluster`).
 */
export async function startKindPlatform(opts: KindProvisionOptions): Promise<ClusterPlatform> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const target = opts.kubeconfig ? await existingCluster(opts.kubeconfig, log) : await kindCluster(opts.keepCluster === true, log);
  const kc = new KubeConfig();
  kc.loadFromFile(target.kubeconfig);
  const forwards = startPortForwards(kc, log);
  let closing: Promise<void> | undefined;
  // Once: a failed deploy runs it through deployOnCluster's close, and the catch below would again.
  const afterClose = () =>
    (closing ??= (async () => {
      await forwards.close();
      await target.drop?.();
    })());
  try {
    const images = await componentImages(join(kubeCacheRoot(), 'images'), log, opts);
    const redis = await clusterRedisImage(opts.redis, log);
    const loaded = await target.loader.load([images.idp, images.sidecar, images.postgres, ...(redis ? [redis] : [])]);
    if (loaded.length) log(`loaded ${loaded.join(', ')}`);
    const profile = await discoverProfile(kc);
    const version = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
    log(`Kubernetes ${version}; apiserver for pods ${profile.apiServerUrl}; issuer ${profile.issuer}`);
    // `--observe` deploys Prometheus through the platform's startPrometheus (deployed.ts), reached by a
    // port-forward; pods cannot reach the runner here, so its own series are not scraped in the cluster.
    return await deployOnCluster({
      name: 'kind',
      kubeconfig: target.kubeconfig,
      pairs: opts.pairs,
      images,
      kubernetesVersion: version,
      profile,
      reach: forwards.reach,
      ...(opts.calibrateUs ? { calibrateUs: opts.calibrateUs } : {}),
      ...(opts.dataPlane ? { dataPlane: true } : {}),
      ...(opts.dataPlane?.tokenPlane ? { tokenPlane: true } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      // A kind node pulls from public registries: Grafana's image comes from there (issue 14).
      grafana: opts.kubeconfig === undefined,
      ...(redis ? { redisImage: redis } : {}),
      loadImages: async (more) => void (await target.loader.load(more)),
      startedAt: t0,
      ...(opts.subjectVerifier ? { subjectVerifier: opts.subjectVerifier } : {}),
      ...(opts.tokenTtlSeconds ? { tokenTtlSeconds: opts.tokenTtlSeconds } : {}),
      log,
      afterClose,
    });
  } catch (err) {
    await afterClose().catch(() => {});
    throw err;
  }
}
