import { readFile } from 'node:fs/promises';
import { cachedImage, type CachedImage } from './image-cache.js';
import { ociImage } from './oci-archive.js';
import { baseFiles, IMAGE_USERS, sharedLibraries, withParents } from './rootfs.js';

/** Where the Redis image keeps the server binary. */
export const REDIS_IMAGE_BINARY = '/usr/local/bin/redis-server';

/**
 * The Redis image of the `heavy-cached` query cache on a cluster: the host's own `redis-server`
 * (Debian's package, the one the local platform runs) and the libraries it loads, non-root, built and
 * cached like the other images (no Docker, no base image). Rebuilt when the binary changes.
 */
export async function redisImage(cacheDir: string, redisServer: string, log: (line: string) => void): Promise<CachedImage> {
  const binary = await readFile(redisServer);
  return cachedImage(cacheDir, 'redis', [binary, 'v1'], async () => {
    log(`building image redis (${redisServer})…`);
    const files = withParents([
      ...baseFiles(IMAGE_USERS.app, '/home/authlab'),
      ...(await sharedLibraries([redisServer])),
      { path: REDIS_IMAGE_BINARY.slice(1), type: 'file', mode: 0o755, data: binary },
    ]);
    return ociImage('redis', [files], {
      user: `${IMAGE_USERS.app.uid}:${IMAGE_USERS.app.uid}`,
      entrypoint: [REDIS_IMAGE_BINARY],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/home/authlab'],
      workingDir: '/home/authlab',
    });
  });
}
