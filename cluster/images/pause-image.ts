import { readFile } from 'node:fs/promises';
import { ociImage, type OciImage } from './oci-archive.js';

/** uid/gid 65535 ("nobody" in the upstream pause image): the sandbox needs no privileges. */
const PAUSE_UID = 65535;

/** The pod sandbox image: the static `pause` binary built from `cluster/go/pause`, nothing else. */
export async function pauseImage(pauseBinary: string): Promise<OciImage> {
  const data = await readFile(pauseBinary);
  return ociImage('pause', [[{ path: 'pause', type: 'file', mode: 0o755, data }]], {
    user: `${PAUSE_UID}:${PAUSE_UID}`,
    entrypoint: ['/pause'],
  });
}
