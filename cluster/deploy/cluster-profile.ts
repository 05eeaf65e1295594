import { request, type RequestOptions } from 'node:https';
import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1NetworkPolicyEgressRule,
  type V1NetworkPolicyPeer,
} from '@kubernetes/client-node';
import { API_URL, NET, PORTS } from '../topology.js';

/**
 * What the deployment must know about the cluster it lands on: how pods reach the apiserver (for
 * TokenReview), where NetworkPolicies let them reach it and DNS, and from where the runner's own
 * traffic arrives. The kube platform's is fixed ({@link thisHostProfile}); any other cluster's is read
 * from its API ({@link discoverProfile}).
 */
export interface ClusterProfile {
  /** The apiserver as pods reach it (`https://<kubernetes Service ClusterIP>`). */
  apiServerUrl: string;
  /** The service-account issuer the IdP records as the tokens' `iss`. */
  issuer: string;
  /** JWKS URL pods can fetch without credentials; only the kube platform's apiserver serves it anonymously. */
  jwksUri?: string;
  /** Where the apiserver really listens: NetworkPolicies see a packet after the Service's DNAT. */
  apiServerEndpoints: { ip: string; port: number }[];
  /** Peers the runner's load and admin calls come from; empty when it reaches pods by port-forward (loopback in the pod). */
  runnerPeers: V1NetworkPolicyPeer[];
  /** Egress rule to the cluster DNS. */
  dns: V1NetworkPolicyEgressRule;
}

/** The kube platform's single node: apiserver, DNS and the load generator all on the node address. */
export function thisHostProfile(): ClusterProfile {
  const node: V1NetworkPolicyPeer = { ipBlock: { cidr: `${NET.nodeIp}/32` } };
  return {
    apiServerUrl: `https://${NET.apiServiceIp}`,
    issuer: API_URL,
    jwksUri: `${API_URL}/openid/v1/jwks`,
    apiServerEndpoints: [{ ip: NET.nodeIp, port: PORTS.apiserver }],
    runnerPeers: [node],
    dns: {
      to: [node],
      ports: [
        { protocol: 'UDP', port: PORTS.dns },
        { protocol: 'TCP', port: PORTS.dns },
      ],
    },
  };
}

/**
 * Reads a cluster's profile from its API: the `kubernetes` Service's ClusterIP, its EndpointSlices (the
 * apiserver's real addresses), the issuer from `/.well-known/openid-configuration` (falling back to
 * kubeadm's default when discovery is not readable), and DNS as the `kube-dns` pods in kube-system.
 * The runner reaches pods by port-forward, so no peer address is opened for it.
 */
export async function discoverProfile(kc: KubeConfig): Promise<ClusterProfile> {
  const core = kc.makeApiClient(CoreV1Api);
  const svc = await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
  const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({
    namespace: 'default',
    labelSelector: 'kubernetes.io/service-name=kubernetes',
  });
  const apiServerEndpoints = slices.items.flatMap((s) => {
    const port = s.ports?.find((p) => p.name === 'https')?.port ?? s.ports?.[0]?.port ?? 443;
    return (s.endpoints ?? []).flatMap((e) => e.addresses.map((ip) => ({ ip, port })));
  });
  return {
    apiServerUrl: `https://${svc.spec?.clusterIP}`,
    issuer: (await readIssuer(kc)) ?? 'https://kubernetes.default.svc.cluster.local',
    apiServerEndpoints,
    runnerPeers: [],
    dns: {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
  };
}

async function readIssuer(kc: KubeConfig): Promise<string | undefined> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return undefined;
  // The apiserver's certificate and client credentials come from the kubeconfig (https options, not fetch).
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve) => {
    const req = request(`${server.replace(/\/$/, '')}/.well-known/openid-configuration`, { ...opts, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as { issuer?: string }).issuer : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
