import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedImage, type CachedImage } from './image-cache.js';
import { ociImage } from './oci-archive.js';
import { baseFiles, IMAGE_USERS, sharedLibraries, withParents } from './rootfs.js';
import type { TarEntry } from './tar.js';

/** Where the k6 image keeps the binary and authlab's k6 scripts (scenarios/k6). */
export const K6_IMAGE_BINARY = '/usr/local/bin/k6';
export const K6_IMAGE_SCRIPTS = '/scripts';

/**
 * The k6 image of in-cluster load runners (`--k6-runners`): the runner's own k6 binary (the one
 * `--engine k6` runs on the host), the libraries it loads, and scenarios/k6/*.ts, built and cached like
 * the IdP and sidecar images (no Docker, no base image). Rebuilt when the binary or a script changes.
 * `scriptsDir` is scenarios/k6 (the runner's `K6_SCRIPTS_DIR`; cluster/ does not import runner/).
 */
export async function k6Image(cacheDir: string, k6Binary: string, scriptsDir: string, log: (line: string) => void): Promise<CachedImage> {
  const binary = await readFile(k6Binary);
  const names = (await readdir(scriptsDir)).filter((n) => n.endsWith('.ts')).sort();
  const scripts = await Promise.all(names.map(async (n) => ({ n, data: await readFile(join(scriptsDir, n)) })));
  return cachedImage(cacheDir, 'k6', [binary, ...scripts.flatMap((s) => [s.n, s.data]), 'v1'], async () => {
    log(`building image k6 (${k6Binary} + scenarios/k6)…`);
    const files: TarEntry[] = withParents([
      ...baseFiles(IMAGE_USERS.app, '/home/authlab'),
      ...(await sharedLibraries([k6Binary])),
      { path: K6_IMAGE_BINARY.slice(1), type: 'file', mode: 0o755, data: binary },
      ...scripts.map((s): TarEntry => ({ path: `${K6_IMAGE_SCRIPTS.slice(1)}/${s.n}`, type: 'file', mode: 0o644, data: s.data })),
    ]);
    return ociImage('k6', [files], {
      user: `${IMAGE_USERS.app.uid}:${IMAGE_USERS.app.uid}`,
      entrypoint: [K6_IMAGE_BINARY],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/home/authlab', 'K6_NO_USAGE_REPORT=true'],
      workingDir: '/home/authlab',
    });
  });
}
