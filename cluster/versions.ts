/**
 * The one pinned set of upstream versions the `kube` platform runs. Changing a version here changes the
 * cache directory, so binaries of two versions never mix.
 */
export const KUBE_VERSION = 'v1.34.4';
export const ETCD_VERSION = 'v3.6.16';
/**
 * NetworkPolicy enforcer. kube-router (firewall controller only: iptables + ipset) because
 * sigs.k8s.io/kube-network-policies sends new connections to user space with the nftables `queue`
 * statement, and this kernel is built without CONFIG_NFT_QUEUE (`nft add rule … queue num 100` fails
 * with ENOENT). v2.1.0 is the only `/v2` version the Go module proxy serves; its reported flaws are in
 * parts we do not run (BGP router, service proxy, load balancer are off).
 */
export const KUBE_ROUTER_VERSION = 'v2.1.0';
/** Cluster DNS, with no upstream forwarder: names outside cluster.local are never asked of anyone. */
export const COREDNS_VERSION = 'v1.15.0';

/**
 * Upstream Prometheus for `--observe` on the kube and kind platforms (v0.316.0 is the Go module of
 * Prometheus 3.16.0): Debian's `prometheus` is built without Kubernetes service discovery.
 */
export const PROMETHEUS_MODULE_VERSION = 'v0.316.0';
export const PROMETHEUS_VERSION = '3.16.0';

/** Binaries `cluster up` needs, in build order (kube-apiserver is the long one). */
export const CLUSTER_BINARIES = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'kubectl',
  'etcd',
  'etcdctl',
  'kube-router',
  'coredns',
  'pause',
] as const;
/** Binaries only `--observe` on a cluster needs: built by `authlab cluster build`, or on first use. */
export const OBSERVE_BINARIES = ['prometheus', 'promtool'] as const;
export type ClusterBinary = (typeof CLUSTER_BINARIES)[number] | (typeof OBSERVE_BINARIES)[number];
