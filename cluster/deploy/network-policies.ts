import type { V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { NET, PORTS } from '../topology.js';
import { APP_PORT } from './components.js';
import { PG_PORT } from './postgres.js';

const ns = (name: string): V1NetworkPolicyPeer['namespaceSelector'] => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });
const app = (name: string) => ({ matchLabels: { app: name } });
/** The node itself: where the load generator and the runner's admin calls come from. */
const NODE: V1NetworkPolicyPeer = { ipBlock: { cidr: `${NET.nodeIp}/32` } };
const tcp = (port: number) => [{ protocol: 'TCP', port }];
/** Cluster DNS runs on the node (CoreDNS, port 53). */
const DNS = {
  to: [NODE],
  ports: [
    { protocol: 'UDP', port: PORTS.dns },
    { protocol: 'TCP', port: PORTS.dns },
  ],
};

function policy(namespace: string, name: string, spec: V1NetworkPolicy['spec']): V1NetworkPolicy {
  return { metadata: { name, namespace }, spec };
}

/** Nothing in, nothing out, unless another policy of the namespace allows it. */
function defaultDeny(namespace: string): V1NetworkPolicy {
  return policy(namespace, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
}

/**
 * A service namespace: its database accepts only its own sidecar; the sidecar reaches its database,
 * its pair peer's sidecar, the IdP and the cluster DNS, and accepts its peer's sidecar and the node (load generator).
 */
export function serviceNetworkPolicies(namespace: string, peer: string, idpNamespace: string): V1NetworkPolicy[] {
  return [
    defaultDeny(namespace),
    policy(namespace, 'db-from-own-sidecar', {
      podSelector: app('db'),
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ podSelector: app('sidecar') }], ports: tcp(PG_PORT) }],
    }),
    policy(namespace, 'sidecar-egress', {
      podSelector: app('sidecar'),
      policyTypes: ['Egress'],
      egress: [
        { to: [{ podSelector: app('db') }], ports: tcp(PG_PORT) },
        { to: [{ namespaceSelector: ns(peer), podSelector: app('sidecar') }], ports: tcp(APP_PORT) },
        { to: [{ namespaceSelector: ns(idpNamespace), podSelector: app('idp') }], ports: tcp(APP_PORT) },
        DNS,
      ],
    }),
    policy(namespace, 'sidecar-ingress', {
      podSelector: app('sidecar'),
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ namespaceSelector: ns(peer), podSelector: app('sidecar') }, NODE], ports: tcp(APP_PORT) }],
    }),
  ];
}

/** authlab-system: the IdP accepts sidecars of service namespaces and the node; it reaches its database and the apiserver. */
export function systemNetworkPolicies(namespace: string): V1NetworkPolicy[] {
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
          _from: [{ namespaceSelector: { matchLabels: { 'authlab.dev/role': 'service' } }, podSelector: app('sidecar') }, NODE],
          ports: tcp(APP_PORT),
        },
      ],
    }),
    policy(namespace, 'idp-egress', {
      podSelector: app('idp'),
      policyTypes: ['Egress'],
      egress: [
        { to: [{ podSelector: app('db') }], ports: tcp(PG_PORT) },
        // The apiserver (TokenReview, JWKS): policies see the packet after the Service's DNAT.
        { to: [NODE], ports: tcp(PORTS.apiserver) },
        DNS,
      ],
    }),
  ];
}
