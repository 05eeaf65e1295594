/**
 * Addresses and ports of the single-node cluster. The ranges are the project's own: 10.244.77.0/24
 * for pods (the bridge `authlab-kube0` holds .1, which is also the node IP and the apiserver's address)
 * and 10.96.77.0/24 for Services. Ports are in 16xxx, below Linux's ephemeral range (32768+) where the
 * local platform's OS-chosen ports live, so the two platforms can run at once.
 */
export const NET = {
  bridge: 'authlab-kube0',
  podCidr: '10.244.77.0/24',
  nodeIp: '10.244.77.1',
  serviceCidr: '10.96.77.0/24',
  /** First Service address: the `kubernetes` Service. */
  apiServiceIp: '10.96.77.1',
  clusterDomain: 'cluster.local',
  nodeName: 'authlab-node',
} as const;

/** TCP ports the cluster binds; `up` refuses to start when one is taken. */
export const PORTS = {
  etcdClient: 16379,
  etcdPeer: 16380,
  /** kube-apiserver on {@link NET.nodeIp}. */
  apiserver: 16443,
  controllerManager: 16257,
  scheduler: 16259,
  /** kubelet API on {@link NET.nodeIp}. */
  kubelet: 16250,
  kubeletHealthz: 16248,
  kubeProxyHealthz: 16256,
  kubeProxyMetrics: 16249,
  kubeRouterHealth: 16245,
  /** Cluster DNS (CoreDNS) on {@link NET.nodeIp}, UDP and TCP: resolv.conf cannot name another port. */
  dns: 53,
  corednsHealth: 16246,
} as const;

/** `https://10.244.77.1:16443`: the apiserver and the service-account issuer (reachable from host and pods). */
export const API_URL = `https://${NET.nodeIp}:${PORTS.apiserver}`;
