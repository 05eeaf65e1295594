import { homedir } from 'node:os';
import { join } from 'node:path';
import { KUBE_VERSION } from './versions.js';

/** `${XDG_CACHE_HOME:-~/.cache}/authlab/kube`: everything the kube platform keeps outside the repo. */
export function kubeCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'authlab', 'kube');
}

/** Where the built binaries of one pinned version live (reused across clusters). */
export interface BuildPaths {
  /** `<cache>/<version>`. */
  root: string;
  /** Built binaries. */
  bin: string;
  /** Wrapper Go modules copied from `cluster/go/` (their go.sum may grow there, never in the repo). */
  src: string;
  /** Build logs, one per binary. */
  logs: string;
  /** `build.json`: what was built from which inputs, and how long it took. */
  manifest: string;
}

export function buildPaths(env: NodeJS.ProcessEnv = process.env): BuildPaths {
  const root = join(kubeCacheRoot(env), KUBE_VERSION);
  return { root, bin: join(root, 'bin'), src: join(root, 'src'), logs: join(root, 'logs'), manifest: join(root, 'build.json') };
}

/**
 * The files of one running cluster. All of it is made by `cluster up` and removed by `cluster down`;
 * the directory name is fixed so a second `up` or a later `down` finds a cluster a killed `up` left.
 */
export interface ClusterPaths {
  dir: string;
  /** `state.json`: pids, sysctls changed, bridge made — what `down` must undo. */
  state: string;
  pki: string;
  logs: string;
  etcdData: string;
  kubeletRoot: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  cniConf: string;
  cniData: string;
  images: string;
  /** Admin kubeconfig with inline certificates (usable from anywhere on this host). */
  kubeconfig: string;
  resolvConf: string;
}

export function clusterPaths(env: NodeJS.ProcessEnv = process.env): ClusterPaths {
  const dir = join(kubeCacheRoot(env), 'cluster');
  return {
    dir,
    state: join(dir, 'state.json'),
    pki: join(dir, 'pki'),
    logs: join(dir, 'logs'),
    etcdData: join(dir, 'etcd'),
    kubeletRoot: join(dir, 'kubelet'),
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdSocket: join(dir, 'containerd', 'containerd.sock'),
    cniConf: join(dir, 'cni', 'conf'),
    cniData: join(dir, 'cni', 'data'),
    images: join(dir, 'images'),
    kubeconfig: join(dir, 'kubeconfig'),
    resolvConf: join(dir, 'resolv.conf'),
  };
}
