import { access } from 'node:fs/promises';
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
  if (missing.length) return `the Kubernetes binaries are not built (${missing.join(', ')} missing); run \`authlab cluster build\` (≈15 min) first`;
  try {
    await access('/sys/fs/cgroup');
  } catch {
    return 'kube tests need cgroups (/sys/fs/cgroup)';
  }
  return undefined;
}
