import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OciImage } from './oci-archive.js';

/** A built image on disk. */
export interface CachedImage {
  ref: string;
  /** Path of the OCI archive. */
  archive: string;
  /** True when it was built now, false when the cached archive was reused. */
  built: boolean;
}

/**
 * Returns the archive for `name` built from `inputs` (strings or buffers that fully determine the
 * image), building it with `build` only when no archive for these inputs exists in `dir`.
 */
export async function cachedImage(
  dir: string,
  name: string,
  inputs: readonly (string | Buffer)[],
  build: () => Promise<OciImage>,
): Promise<CachedImage> {
  const h = createHash('sha256').update(name);
  for (const i of inputs) h.update(createHash('sha256').update(i).digest());
  const key = h.digest('hex').slice(0, 16);
  const meta = join(dir, `${name}-${key}.json`);
  const archive = join(dir, `${name}-${key}.oci.tar`);
  try {
    const { ref } = JSON.parse(await readFile(meta, 'utf8')) as { ref: string };
    return { ref, archive, built: false };
  } catch {
    // not built for these inputs yet
  }
  await mkdir(dir, { recursive: true });
  const image = await build();
  await writeFile(`${archive}.tmp`, image.archive);
  await rename(`${archive}.tmp`, archive);
  await writeFile(meta, JSON.stringify({ ref: image.ref, configDigest: image.configDigest }) + '\n');
  return { ref: image.ref, archive, built: true };
}
