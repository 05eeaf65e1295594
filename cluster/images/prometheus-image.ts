import { readFile } from 'node:fs/promises';
import { cachedImage, type CachedImage } from './image-cache.js';
import { ociImage } from './oci-archive.js';
import { baseFiles, IMAGE_USERS, withParents } from './rootfs.js';

/** Where the Prometheus image keeps its binary, its config (a ConfigMap mount) and its TSDB (an emptyDir). */
export const PROMETHEUS_IMAGE_BINARY = '/usr/local/bin/prometheus';
export const PROMETHEUS_CONFIG_DIR = '/etc/prometheus';
export const PROMETHEUS_DATA_DIR = '/prometheus';

/**
 * The in-cluster Prometheus of `--observe` (kube, kind): the upstream binary `authlab cluster build`
 * made (static: CGO off, so no shared library), a non-root user and its data directory, built and
 * cached like the other images (no Docker, no base image; tag from the content). Rebuilt when the binary changes.
 */
export async function prometheusImage(cacheDir: string, prometheusBinary: string, log: (line: string) => void): Promise<CachedImage> {
  const binary = await readFile(prometheusBinary);
  return cachedImage(cacheDir, 'prometheus', [binary, 'v1'], async () => {
    log(`building image prometheus (${prometheusBinary})…`);
    const uid = IMAGE_USERS.app.uid;
    return ociImage(
      'prometheus',
      [
        withParents([
          ...baseFiles(IMAGE_USERS.app, '/home/authlab'),
          { path: PROMETHEUS_IMAGE_BINARY.slice(1), type: 'file', mode: 0o755, data: binary },
          { path: PROMETHEUS_DATA_DIR.slice(1), type: 'dir', mode: 0o755, uid, gid: uid },
        ]),
      ],
      {
        user: `${uid}:${uid}`,
        entrypoint: [PROMETHEUS_IMAGE_BINARY],
        cmd: [`--config.file=${PROMETHEUS_CONFIG_DIR}/prometheus.yml`, `--storage.tsdb.path=${PROMETHEUS_DATA_DIR}`],
        env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/home/authlab'],
        workingDir: PROMETHEUS_DATA_DIR,
      },
    );
  });
}
