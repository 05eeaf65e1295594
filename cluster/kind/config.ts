import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadYaml } from '@kubernetes/client-node';
import { ClusterError } from '../errors.js';

/** `cluster/kind.yaml`: the one kind cluster config authlab creates clusters from. */
export const KIND_CONFIG_PATH = fileURLToPath(new URL('../kind.yaml', import.meta.url));
/** The kind release authlab's config and commands are written for (also in .ci/run and the workflow). */
export const KIND_VERSION = 'v0.30.0';

/** What authlab reads from kind.yaml (the file is handed to kind as it is). */
export interface KindConfig {
  name: string;
  /** `kindest/node:<tag>@sha256:<digest>`. */
  nodeImage: string;
  /** The Kubernetes version the node image runs (its tag). */
  kubernetesVersion: string;
  podSubnet: string;
  serviceSubnet: string;
}

interface KindYaml {
  kind?: string;
  apiVersion?: string;
  name?: string;
  networking?: { podSubnet?: string; serviceSubnet?: string };
  nodes?: { role?: string; image?: string }[];
}

/**
 * Reads and checks a kind config: a `Cluster` of `kind.x-k8s.io/v1alpha4` with a name, both subnets and
 * every node's image pinned by digest (a tag alone can be re-pushed). Throws one sentence naming the fault.
 */
export async function readKindConfig(path = KIND_CONFIG_PATH): Promise<KindConfig> {
  const doc = loadYaml<KindYaml>(await readFile(path, 'utf8'));
  const bad = (what: string) => new ClusterError('ERR_COMMAND_FAILED', `${path}: ${what}`);
  if (doc?.kind !== 'Cluster' || doc.apiVersion !== 'kind.x-k8s.io/v1alpha4')
    throw bad('must be a kind `Cluster` of apiVersion kind.x-k8s.io/v1alpha4');
  if (!doc.name) throw bad('must name the cluster (`name:`)');
  const podSubnet = doc.networking?.podSubnet;
  const serviceSubnet = doc.networking?.serviceSubnet;
  if (!podSubnet || !serviceSubnet) throw bad('must set networking.podSubnet and networking.serviceSubnet');
  const images = (doc.nodes ?? []).map((n) => n.image ?? '');
  if (images.length === 0) throw bad('must list its nodes');
  const unpinned = images.find((i) => !/^kindest\/node:v[\d.]+@sha256:[0-9a-f]{64}$/.test(i));
  if (unpinned !== undefined) throw bad(`node image '${unpinned}' must be pinned as kindest/node:<version>@sha256:<digest>`);
  const nodeImage = images[0]!;
  return { name: doc.name, nodeImage, kubernetesVersion: /:(v[\d.]+)@/.exec(nodeImage)![1]!, podSubnet, serviceSubnet };
}

/** Where `--platform kind` keeps the kubeconfig of the cluster it made: `<cache>/authlab/kind/<name>.kubeconfig`. */
export function kindKubeconfigPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'authlab', 'kind', `${name}.kubeconfig`);
}
