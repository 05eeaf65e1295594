import { ApiException, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

/** Kinds this deployment creates, with their apiVersion (client-node's typed models omit them). */
const API_VERSION: Record<string, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  Secret: 'v1',
  ConfigMap: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
};

/** Creates `obj` as `kind`, replacing an existing object of the same name. Resolves what the apiserver stored. */
export async function apply<T extends KubernetesObject>(api: KubernetesObjectApi, kind: keyof typeof API_VERSION, obj: T): Promise<T> {
  const spec = { ...obj, apiVersion: API_VERSION[kind], kind } as T;
  try {
    return (await api.create(spec)) as T;
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
    const current = await api.read(spec as KubernetesObject & { metadata: { name: string } });
    return (await api.replace({ ...spec, metadata: { ...spec.metadata, resourceVersion: current.metadata?.resourceVersion } })) as T;
  }
}

export function objectApi(kc: KubeConfig): KubernetesObjectApi {
  return KubernetesObjectApi.makeApiClient(kc);
}
