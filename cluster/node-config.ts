import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterPaths } from './paths.js';
import { NET, PORTS } from './topology.js';

/** Where the runc wrapper lives and which runc it calls. */
export function runcWrapperPath(paths: ClusterPaths): string {
  return join(paths.dir, 'runc-oom-clamp');
}

/**
 * containerd 1.6 configuration (version 2) with every path under the cluster directory, so nothing of it
 * lands in /var/lib/containerd, /run/containerd or /opt/containerd, and no TCP listener but the CRI
 * stream server on 127.0.0.1.
 */
/** `sandboxImage`: the pause image, imported from the runner-built archive before the kubelet starts (no registry here). */
export function containerdConfig(paths: ClusterPaths, sandboxImage: string): string {
  return `version = 2
root = "${paths.containerdRoot}"
state = "${paths.containerdState}"
oom_score = 0
[grpc]
  address = "${paths.containerdSocket}"
[ttrpc]
  address = "${paths.containerdSocket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(paths.dir, 'containerd', 'opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${paths.cniConf}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "${runcWrapperPath(paths)}"
`;
}

/**
 * runc wrapper: this VM refuses a negative oom_score_adj (the kubelet asks -998 for sandboxes), so the
 * bundle's `oomScoreAdj` is clamped to >= 0 before the real runc runs.
 */
export function runcWrapper(runc: string): string {
  return `#!/bin/sh
# authlab kube platform: clamp negative oomScoreAdj (EPERM on this VM), then run the real runc.
bundle=""
prev=""
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle="$a";; esac
  case "$a" in --bundle=*) bundle="\${a#--bundle=}";; esac
  prev="$a"
done
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
  sed -i -E 's/"oomScoreAdj":[[:space:]]*-[0-9]+/"oomScoreAdj":0/' "$bundle/config.json"
fi
exec ${runc} "$@"
`;
}

/**
 * CNI: one bridge network on {@link NET.bridge}; host-local IPAM keeps its leases under the cluster
 * directory (not /var/lib/cni). No masquerade: pod traffic never leaves with the host's address.
 */
export function cniConflist(paths: ClusterPaths): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'authlab-kube',
      plugins: [
        {
          type: 'bridge',
          bridge: NET.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: paths.cniData,
            ranges: [[{ subnet: NET.podCidr, gateway: NET.nodeIp }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
      ],
    },
    null,
    2,
  );
}

/**
 * The kubelet's resolv.conf (and pods' with `dnsPolicy: Default`): no upstream server, so no DNS query
 * leaves the machine. Pods with the default `ClusterFirst` policy ask the cluster DNS on the node IP.
 */
export const RESOLV_CONF =
  '# authlab kube platform: no upstream resolver on purpose\nnameserver 127.0.0.1\noptions ndots:1 timeout:1 attempts:1\n';

export function kubeletConfig(paths: ClusterPaths): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NET.nodeIp}
port: ${PORTS.kubelet}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${PORTS.kubeletHealthz}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${join(paths.pki, 'ca.crt')}}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://${paths.containerdSocket}
failSwapOn: false
resolvConf: ${paths.resolvConf}
podLogsDir: ${join(paths.dir, 'pod-logs')}
clusterDomain: ${NET.clusterDomain}
clusterDNS: [${NET.nodeIp}]
protectKernelDefaults: false
makeIPTablesUtilChains: true
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
`;
}

export function kubeProxyConfig(kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${kubeconfig}}
mode: iptables
clusterCIDR: ${NET.podCidr}
healthzBindAddress: 127.0.0.1:${PORTS.kubeProxyHealthz}
metricsBindAddress: 127.0.0.1:${PORTS.kubeProxyMetrics}
nodePortAddresses: ["${NET.nodeIp}/32"]
iptables: {localhostNodePorts: false, masqueradeAll: false}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`;
}

/** Writes every node-side configuration file; returns their paths. */
export async function writeNodeConfig(
  paths: ClusterPaths,
  runc: string,
  kubeconfigs: { kubeProxy: string; coredns: string },
  sandboxImage: string,
) {
  const files = {
    containerd: join(paths.dir, 'containerd', 'config.toml'),
    kubelet: join(paths.dir, 'kubelet-config.yaml'),
    kubeProxy: join(paths.dir, 'kube-proxy-config.yaml'),
    cni: join(paths.cniConf, '10-authlab-kube.conflist'),
    corefile: join(paths.dir, 'Corefile'),
  };
  await mkdir(join(paths.dir, 'containerd'), { recursive: true });
  await mkdir(paths.cniConf, { recursive: true });
  await mkdir(paths.cniData, { recursive: true });
  await mkdir(paths.kubeletRoot, { recursive: true });
  await writeFile(files.containerd, containerdConfig(paths, sandboxImage));
  await writeFile(runcWrapperPath(paths), runcWrapper(runc), { mode: 0o755 });
  await writeFile(files.cni, cniConflist(paths));
  await writeFile(files.kubelet, kubeletConfig(paths));
  await writeFile(files.kubeProxy, kubeProxyConfig(kubeconfigs.kubeProxy));
  await writeFile(files.corefile, corefile(kubeconfigs.coredns));
  await writeFile(paths.resolvConf, RESOLV_CONF);
  return files;
}

/**
 * CoreDNS: `cluster.local` (and reverse zones) from the apiserver; every other name is answered
 * REFUSED here, since there is no `forward` plugin: no query leaves the machine.
 */
export function corefile(kubeconfig: string): string {
  return `${NET.clusterDomain}:${PORTS.dns} in-addr.arpa:${PORTS.dns} ip6.arpa:${PORTS.dns} {
  bind ${NET.nodeIp}
  errors
  health 127.0.0.1:${PORTS.corednsHealth}
  kubernetes ${NET.clusterDomain} in-addr.arpa ip6.arpa {
    kubeconfig ${kubeconfig} authlab-kube
    pods disabled
    fallthrough in-addr.arpa ip6.arpa
  }
  template ANY ANY in-addr.arpa ip6.arpa {
    rcode NXDOMAIN
  }
}
.:${PORTS.dns} {
  bind ${NET.nodeIp}
  errors
  template ANY ANY {
    rcode REFUSED
  }
}
`;
}
