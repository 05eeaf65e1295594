import { fileURLToPath } from 'node:url';
import { COREDNS_VERSION, ETCD_VERSION, KUBE_ROUTER_VERSION, KUBE_VERSION, PROMETHEUS_VERSION, type ClusterBinary } from './versions.js';

/** Wrapper Go modules shipped in the repo (`cluster/go/<name>`). */
export const GO_MODULES_DIR = fileURLToPath(new URL('./go/', import.meta.url));

/** How one binary is made with the Go toolchain. */
export interface BuildTarget {
  name: ClusterBinary;
  /** `module`: `go build <pkg>` inside the wrapper module `cluster/go/<module>`; `install`: `go install <pkg>@<version>`. */
  kind: 'module' | 'install';
  module?: string;
  pkg: string;
  ldflags: string;
  /** Go build tags (`-tags`), comma-separated. */
  tags?: string;
}

const [major, minor] = KUBE_VERSION.slice(1).split('.');
const KUBE_LDFLAGS = [
  '-s -w',
  `-X k8s.io/component-base/version.gitVersion=${KUBE_VERSION}`,
  `-X k8s.io/component-base/version.gitMajor=${major}`,
  `-X k8s.io/component-base/version.gitMinor=${minor}`,
  // Without a tree state, `kubectl version` prints an empty field; the build is from a released tag.
  '-X k8s.io/component-base/version.gitTreeState=clean',
].join(' ');

function kube(name: ClusterBinary): BuildTarget {
  return { name, kind: 'module', module: 'k8s', pkg: `k8s.io/kubernetes/cmd/${name}`, ldflags: KUBE_LDFLAGS };
}

/** Every binary of the platform, kube-apiserver first: it is the long one (~11 min cold on 2 cores). */
export const BUILD_TARGETS: readonly BuildTarget[] = [
  kube('kube-apiserver'),
  kube('kube-controller-manager'),
  kube('kube-scheduler'),
  kube('kubelet'),
  kube('kube-proxy'),
  kube('kubectl'),
  {
    name: 'etcd',
    kind: 'module',
    module: 'etcd',
    pkg: 'go.etcd.io/etcd/server/v3',
    ldflags: `-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}`,
  },
  { name: 'etcdctl', kind: 'module', module: 'etcd', pkg: 'go.etcd.io/etcd/etcdctl/v3', ldflags: '-s -w' },
  {
    name: 'kube-router',
    kind: 'install',
    pkg: `github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@${KUBE_ROUTER_VERSION}`,
    ldflags: `-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=${KUBE_ROUTER_VERSION}`,
  },
  {
    name: 'coredns',
    kind: 'install',
    pkg: `github.com/coredns/coredns@${COREDNS_VERSION}`,
    ldflags: `-s -w -X github.com/coredns/coredns/coremain.GitCommit=${COREDNS_VERSION}`,
  },
  { name: 'pause', kind: 'module', module: 'pause', pkg: '.', ldflags: '-s -w' },
  prometheus('prometheus'),
  prometheus('promtool'),
];

/**
 * Prometheus and promtool from the wrapper module `cluster/go/prometheus`, with only the Kubernetes
 * service discovery (`remove_all_sd,enable_kubernetes_sd`; static and file discovery are always built)
 * and without the web UI's assets (no `builtinassets` tag: the UI answers with a note, the API is whole).
 */
function prometheus(name: 'prometheus' | 'promtool'): BuildTarget {
  const v = 'github.com/prometheus/common/version';
  return {
    name,
    kind: 'module',
    module: 'prometheus',
    pkg: `github.com/prometheus/prometheus/cmd/${name}`,
    tags: 'remove_all_sd,enable_kubernetes_sd',
    ldflags: `-s -w -X ${v}.Version=${PROMETHEUS_VERSION} -X ${v}.Branch=HEAD -X ${v}.BuildUser=authlab`,
  };
}
