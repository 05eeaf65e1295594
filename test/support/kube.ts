import { access, open, readFile, rm } from 'node:fs/promises';
import type { CoreV1Api } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { missingBinaries } from '../../cluster/build.js';
import { ClusterError } from '../../cluster/errors.js';
import { requireHostTools, requireKernel } from '../../cluster/preflight.js';

/**
 * Why the kube tests cannot run on this machine, or undefined when they can. Only a missing root,
 * kernel feature, host tool or built binary is a reason; the caller prints it (never a silent skip).
 */
export async function kubeSkipReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `kube tests need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'kube tests need root (they make a bridge, iptables chains and mounts); run them as root';
  try {
    await requireKernel();
    await requireHostTools();
  } catch (err) {
    if (err instanceof ClusterError) return err.message;
    throw err;
  }
  const missing = await missingBinaries();
  if (missing.length)
    return `the Kubernetes binaries are not built (${missing.join(', ')} missing); run \`authlab cluster build\` (≈15 min) first`;
  try {
    await access('/sys/fs/cgroup');
  } catch {
    return 'kube tests need cgroups (/sys/fs/cgroup)';
  }
  return undefined;
}

/**
 * Serialises test files that bring a cluster up (there is one node per host): an exclusive lock file,
 * taken in `beforeAll` and released in `afterAll`. A lock left by a dead process is taken over.
 */
export async function acquireClusterLock(timeoutMs = 900_000): Promise<() => Promise<void>> {
  const path = '/tmp/authlab-kube-test.lock';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await readFile(path, 'utf8').catch(() => '0'));
      let alive = false;
      try {
        if (holder > 0) {
          process.kill(holder, 0);
          alive = true;
        }
      } catch {
        alive = false;
      }
      if (!alive) await rm(path, { force: true });
      else if (Date.now() > deadline) throw new Error(`another kube test (pid ${holder}) holds ${path}`);
      else await sleep(500);
    }
  }
}

/**
 * Starts a pod that prints its projected service-account token (audience `authlab-idp`) and waits,
 * then resolves that token once the pod's log shows it (at most 60 s): the token a kubelet wrote.
 */
export async function readProjectedToken(
  core: CoreV1Api,
  o: { namespace: string; pod: string; serviceAccount: string; image: string; labels?: Record<string, string> },
): Promise<string> {
  await core.createNamespacedPod({
    namespace: o.namespace,
    body: {
      metadata: { name: o.pod, ...(o.labels ? { labels: o.labels } : {}) },
      spec: {
        serviceAccountName: o.serviceAccount,
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'reader',
            image: o.image,
            imagePullPolicy: 'Never',
            command: [
              '/usr/local/bin/node',
              '-e',
              "console.log(require('fs').readFileSync('/var/run/secrets/authlab/token','utf8')); setInterval(()=>{}, 1e9)",
            ],
            volumeMounts: [{ name: 'sa', mountPath: '/var/run/secrets/authlab', readOnly: true }],
            securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
          },
        ],
        volumes: [
          {
            name: 'sa',
            projected: { sources: [{ serviceAccountToken: { audience: 'authlab-idp', expirationSeconds: 600, path: 'token' } }] },
          },
        ],
      },
    },
  });
  let token = '';
  for (let i = 0; i < 300 && !token; i++) {
    await sleep(200);
    token = (await core.readNamespacedPodLog({ name: o.pod, namespace: o.namespace }).catch(() => '')).trim();
  }
  return token;
}
