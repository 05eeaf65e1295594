import type { V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type { ClusterProfile } from './cluster-profile.js';
import { APP_PORT, DATA_PLANE_PORT, TOKEN_PLANE_PORT } from './components.js';
import { PG_PORT } from './postgres.js';
import { REDIS_PORT } from './redis.js';

const ns = (name: string): V1NetworkPolicyPeer['namespaceSelector'] => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });
const app = (name: string) => ({ matchLabels: { app: name } });
const tcp = (port: number) => [{ protocol: 'TCP', port }];
/** Namespaces of in-cluster load generators (`--k6-runners`): they may call every sidecar. */
export const LOAD_NAMESPACE_LABEL = { 'authlab.dev/role': 'load' } as const;
const LOAD: V1NetworkPolicyPeer = { namespaceSelector: { matchLabels: { ...LOAD_NAMESPACE_LABEL } } };

function policy(namespace: string, name: string, spec: V1NetworkPolicy['spec']): V1NetworkPolicy {
  return { metadata: { name, namespace }, spec };
}

/** Nothing in, nothing out, unless another policy of the namespace allows it. */
function defaultDeny(namespace: string): V1NetworkPolicy {
  return policy(namespace, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
}

/**
 * A service namespace: its database accepts only its own sidecar; the sidecar reaches its database,
 * its pair peer's sidecar, the IdP and the cluster DNS, and accepts its peer's sidecar, in-cluster load generators and the runner (the node on the kube platform).
 */
export function serviceNetworkPolicies(namespace: string, peer: string, idpNamespace: string, profile: ClusterProfile): V1NetworkPolicy[] {
  return [
    defaultDeny(namespace),
    policy(namespace, 'db-from-own-sidecar', {
      podSelector: app('db'),
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ podSelector: app('sidecar') }], ports: tcp(PG_PORT) }],
    }),
    // The query cache (deployed with the heavy-cached scenario): like the database, its own sidecar only.
    policy(namespace, 'redis-from-own-sidecar', {
      podSelector: app('redis'),
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ podSelector: app('sidecar') }], ports: tcp(REDIS_PORT) }],
    }),
    policy(namespace, 'sidecar-egress', {
      podSelector: app('sidecar'),
      policyTypes: ['Egress'],
      egress: [
        { to: [{ podSelector: app('db') }], ports: tcp(PG_PORT) },
        { to: [{ podSelector: app('redis') }], ports: tcp(REDIS_PORT) },
        { to: [{ namespaceSelector: ns(peer), podSelector: app('sidecar') }], ports: tcp(APP_PORT) },
        // The IdP, and its Go token plane's token endpoint (`--data-plane go`).
        { to: [{ namespaceSelector: ns(idpNamespace), podSelector: app('idp') }], ports: [...tcp(APP_PORT), ...tcp(TOKEN_PLANE_PORT)] },
        profile.dns,
      ],
    }),
    policy(namespace, 'sidecar-ingress', {
      podSelector: app('sidecar'),
      policyTypes: ['Ingress'],
      ingress: [
        { _from: [{ namespaceSelector: ns(peer), podSelector: app('sidecar') }, LOAD, ...profile.runnerPeers], ports: tcp(APP_PORT) },
        // The Go data plane's outbound port (`--data-plane go`): only the load calls it, as it calls /call.
        { _from: [LOAD, ...profile.runnerPeers], ports: tcp(DATA_PLANE_PORT) },
      ],
    }),
  ];
}

/** authlab-system: the IdP accepts sidecars of service namespaces and the node; it reaches its database and the apiserver. */
export function systemNetworkPolicies(namespace: string, profile: ClusterProfile): V1NetworkPolicy[] {
  return [
    defaultDeny(namespace),
    policy(namespace, 'db-from-idp', {
      podSelector: app('db'),
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ podSelector: app('idp') }], ports: tcp(PG_PORT) }],
    }),
    policy(namespace, 'idp-ingress', {
      podSelector: app('idp'),
      policyTypes: ['Ingress'],
      ingress: [
        {
          _from: [
            { namespaceSelector: { matchLabels: { 'authlab.dev/role': 'service' } }, podSelector: app('sidecar') },
            ...profile.runnerPeers,
          ],
          // The IdP's port, and its Go token plane's (`--data-plane go`; discovery names it as the token endpoint).
          ports: [...tcp(APP_PORT), ...tcp(TOKEN_PLANE_PORT)],
        },
      ],
    }),
    policy(namespace, 'idp-egress', {
      podSelector: app('idp'),
      policyTypes: ['Egress'],
      egress: [
        { to: [{ podSelector: app('db') }], ports: tcp(PG_PORT) },
        // The apiserver (TokenReview, JWKS): policies see the packet after the Service's DNAT.
        ...profile.apiServerEndpoints.map((e) => ({ to: [{ ipBlock: { cidr: `${e.ip}/32` } }], ports: tcp(e.port) })),
        profile.dns,
      ],
    }),
  ];
}
