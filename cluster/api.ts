import { request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
  type V1Node,
} from '@kubernetes/client-node';
import { ClusterError } from './errors.js';
import { API_URL } from './topology.js';

/** The API clients the cluster tooling uses, from one kubeconfig. */
export interface ClusterApi {
  kc: KubeConfig;
  core: CoreV1Api;
  rbac: RbacAuthorizationV1Api;
}

export function clusterApi(kubeconfigPath: string): ClusterApi {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { kc, core: kc.makeApiClient(CoreV1Api), rbac: kc.makeApiClient(RbacAuthorizationV1Api) };
}

/** GET `path` on the apiserver with the admin client certificate; resolves status and body. */
export async function apiGet(pkiDir: string, path: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  const [ca, cert, key] = await Promise.all(['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(join(pkiDir, f))));
  return new Promise((resolve, reject) => {
    const req = request(`${API_URL}${path}`, { ca, cert, key, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls until `check` resolves true, every `intervalMs` (default 100 ms), or throws ERR_START_TIMEOUT
 * with `what` after `timeoutMs`. `alive` is asked first each round, so a crashed daemon fails fast.
 */
export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  alive?: () => Promise<void>,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await alive?.();
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new ClusterError('ERR_START_TIMEOUT', `${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(intervalMs);
  }
}

export function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function createIgnoringConflict(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
  }
}

/** What kube-router's firewall controller reads and writes (its upstream RBAC, without the router's parts). */
const KUBE_ROUTER_ROLE: V1ClusterRole = {
  metadata: { name: 'authlab:kube-router' },
  rules: [
    { apiGroups: [''], resources: ['namespaces', 'pods', 'services', 'nodes', 'endpoints'], verbs: ['list', 'get', 'watch'] },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'get', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'get', 'watch'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ],
};

/** What CoreDNS's kubernetes plugin watches (its upstream `system:coredns` role). */
const COREDNS_ROLE: V1ClusterRole = {
  metadata: { name: 'authlab:coredns' },
  rules: [
    { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ],
};

function binding(name: string, role: string, subject: { kind: 'User' | 'Group'; name: string }): V1ClusterRoleBinding {
  return {
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', ...subject }],
  };
}

/**
 * Cluster-wide RBAC the platform needs beyond the apiserver's bootstrap roles: anonymous OIDC
 * discovery (`/.well-known/openid-configuration`, `/openid/v1/jwks`) for the IdP's JWKS verifier,
 * the apiserver's access to kubelets (logs, exec), and kube-router's read access.
 */
export async function bootstrapRbac(api: ClusterApi): Promise<void> {
  await createIgnoringConflict(() => api.rbac.createClusterRole({ body: KUBE_ROUTER_ROLE }));
  await createIgnoringConflict(() => api.rbac.createClusterRole({ body: COREDNS_ROLE }));
  for (const body of [
    binding('authlab:oidc-discovery-anonymous', 'system:service-account-issuer-discovery', {
      kind: 'Group',
      name: 'system:unauthenticated',
    }),
    binding('authlab:apiserver-kubelet-api', 'system:kubelet-api-admin', { kind: 'User', name: 'kube-apiserver-kubelet-client' }),
    binding('authlab:kube-router', 'authlab:kube-router', { kind: 'User', name: 'authlab:kube-router' }),
    binding('authlab:coredns', 'authlab:coredns', { kind: 'User', name: 'authlab:coredns' }),
  ]) {
    await createIgnoringConflict(() => api.rbac.createClusterRoleBinding({ body }));
  }
}
