import { join } from 'node:path';
import type { ClientName } from './pki.js';
import type { ClusterPaths } from './paths.js';
import { API_URL, NET, PORTS } from './topology.js';

/** Audience the IdP accepts on projected service-account tokens. */
export const IDP_AUDIENCE = 'authlab-idp';

/** A daemon's command line: which cached binary (or host tool) with which flags. */
export interface DaemonSpec {
  name: string;
  /** A binary from the build cache, or an absolute host path. */
  bin: string;
  args: string[];
}

type Kubeconfigs = Record<ClientName, string>;

export function etcdSpec(paths: ClusterPaths): DaemonSpec {
  const client = `http://127.0.0.1:${PORTS.etcdClient}`;
  const peer = `http://127.0.0.1:${PORTS.etcdPeer}`;
  return {
    name: 'etcd',
    bin: 'etcd',
    args: [
      '--name=authlab',
      `--data-dir=${paths.etcdData}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=authlab=${peer}`,
      // A throwaway single-node store: durability buys nothing, fsync costs seconds on a busy disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
  };
}

export function apiserverSpec(paths: ClusterPaths): DaemonSpec {
  const pki = (f: string) => join(paths.pki, f);
  return {
    name: 'kube-apiserver',
    bin: 'kube-apiserver',
    args: [
      `--etcd-servers=http://127.0.0.1:${PORTS.etcdClient}`,
      `--bind-address=${NET.nodeIp}`,
      `--advertise-address=${NET.nodeIp}`,
      `--secure-port=${PORTS.apiserver}`,
      `--cert-dir=${pki('apiserver-certdir')}`,
      `--tls-cert-file=${pki('apiserver.crt')}`,
      `--tls-private-key-file=${pki('apiserver.key')}`,
      `--client-ca-file=${pki('ca.crt')}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      // Anonymous requests only reach what RBAC grants system:unauthenticated: health and OIDC discovery.
      '--anonymous-auth=true',
      `--service-account-issuer=${API_URL}`,
      `--service-account-key-file=${pki('sa.pub')}`,
      `--service-account-signing-key-file=${pki('sa.key')}`,
      `--service-cluster-ip-range=${NET.serviceCidr}`,
      `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
      // Otherwise node names are resolved through the host's DNS: a query leaving the machine.
      '--kubelet-preferred-address-types=InternalIP',
      '--allow-privileged=false',
      '--profiling=false',
      '--v=1',
    ],
  };
}

export function controllerManagerSpec(paths: ClusterPaths, kc: Kubeconfigs): DaemonSpec {
  const k = kc['kube-controller-manager'];
  return {
    name: 'kube-controller-manager',
    bin: 'kube-controller-manager',
    args: [
      `--kubeconfig=${k}`,
      `--authentication-kubeconfig=${k}`,
      `--authorization-kubeconfig=${k}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${PORTS.controllerManager}`,
      '--leader-elect=false',
      `--root-ca-file=${join(paths.pki, 'ca.crt')}`,
      `--service-account-private-key-file=${join(paths.pki, 'sa.key')}`,
      `--cluster-signing-cert-file=${join(paths.pki, 'ca.crt')}`,
      `--cluster-signing-key-file=${join(paths.pki, 'ca.key')}`,
      '--use-service-account-credentials=true',
      `--service-cluster-ip-range=${NET.serviceCidr}`,
      '--profiling=false',
      '--v=1',
    ],
  };
}

export function schedulerSpec(kc: Kubeconfigs): DaemonSpec {
  const k = kc['kube-scheduler'];
  return {
    name: 'kube-scheduler',
    bin: 'kube-scheduler',
    args: [
      `--kubeconfig=${k}`,
      `--authentication-kubeconfig=${k}`,
      `--authorization-kubeconfig=${k}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${PORTS.scheduler}`,
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ],
  };
}

export function containerdSpec(containerd: string, configFile: string): DaemonSpec {
  return { name: 'containerd', bin: containerd, args: ['--config', configFile, '--log-level', 'warn'] };
}

export function kubeletSpec(paths: ClusterPaths, kc: Kubeconfigs, configFile: string): DaemonSpec {
  return {
    name: 'kubelet',
    bin: 'kubelet',
    args: [
      `--config=${configFile}`,
      `--kubeconfig=${kc.kubelet}`,
      `--root-dir=${paths.kubeletRoot}`,
      `--cert-dir=${join(paths.kubeletRoot, 'pki')}`,
      `--hostname-override=${NET.nodeName}`,
      `--node-ip=${NET.nodeIp}`,
      '--v=1',
    ],
  };
}

export function kubeProxySpec(configFile: string): DaemonSpec {
  return { name: 'kube-proxy', bin: 'kube-proxy', args: [`--config=${configFile}`, `--hostname-override=${NET.nodeName}`, '--v=1'] };
}

/** CoreDNS on the node IP, port 53 (cluster DNS; see `corefile`). */
export function corednsSpec(corefile: string): DaemonSpec {
  return { name: 'coredns', bin: 'coredns', args: ['-conf', corefile] };
}

/** kube-router as a NetworkPolicy enforcer only (no BGP router, no service proxy, no load balancer). */
export function kubeRouterSpec(kc: Kubeconfigs): DaemonSpec {
  return {
    name: 'kube-router',
    bin: 'kube-router',
    args: [
      `--kubeconfig=${kc['kube-router']}`,
      `--hostname-override=${NET.nodeName}`,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      '--run-loadbalancer=false',
      `--service-cluster-ip-range=${NET.serviceCidr}`,
      `--health-port=${PORTS.kubeRouterHealth}`,
      '--metrics-port=0',
      '-v=1',
    ],
  };
}
