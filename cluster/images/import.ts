import { mustExec } from '../exec.js';
import type { ClusterPaths } from '../paths.js';

/**
 * Loads OCI archives into the cluster's containerd (namespace `k8s.io`, where the CRI looks), skipping
 * references already present. Resolves the references imported now.
 */
export async function importImages(
  ctr: string,
  paths: Pick<ClusterPaths, 'containerdSocket'>,
  images: readonly { ref: string; archive: string }[],
): Promise<string[]> {
  const base = ['-a', paths.containerdSocket, '-n', 'k8s.io'];
  const present = new Set((await mustExec(ctr, [...base, 'images', 'ls', '-q'])).split('\n').filter(Boolean));
  const imported: string[] = [];
  for (const img of images) {
    if (present.has(img.ref)) continue;
    await mustExec(ctr, [...base, 'images', 'import', img.archive], { timeoutMs: 180_000 });
    imported.push(img.ref);
  }
  return imported;
}
