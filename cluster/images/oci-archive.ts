import { createHash } from 'node:crypto';
import { tar, type TarEntry } from './tar.js';

/** What a container runs (the OCI image config's `config` section). */
export interface ImageRuntimeConfig {
  /** `uid:gid`; images of this project run as a non-root user. */
  user: string;
  entrypoint: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
}

export interface OciImage {
  /** Full reference, `localhost/authlab/<name>:<tag>`; the tag is the first 16 hex digits of the config digest. */
  ref: string;
  /** The OCI image-layout archive (`ctr images import` / `kind load image-archive` read it). */
  archive: Buffer;
  /** `sha256:<hex>` of the image config: changes exactly when the root filesystem or config change. */
  configDigest: string;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * Packs `layers` (each a list of tar entries, lowest first) as an OCI image and wraps it in an OCI
 * image-layout tar. Layers are uncompressed tars with fixed mtimes, so the same inputs give the same
 * digests and the same tag; a layer shared by two images (the Node runtime) is stored once by containerd.
 * index.json names the image with `io.containerd.image.name` (containerd) and
 * `org.opencontainers.image.ref.name` (the tag, for other tools).
 */
export function ociImage(name: string, layers: readonly (readonly TarEntry[])[], runtime: ImageRuntimeConfig): OciImage {
  const blobs = layers.map((l) => tar(l));
  const digests = blobs.map((b) => `sha256:${sha256(b)}`);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        User: runtime.user,
        Entrypoint: runtime.entrypoint,
        ...(runtime.cmd ? { Cmd: runtime.cmd } : {}),
        Env: runtime.env ?? ['PATH=/usr/local/bin:/usr/bin:/bin'],
        ...(runtime.workingDir ? { WorkingDir: runtime.workingDir } : {}),
      },
      rootfs: { type: 'layers', diff_ids: digests },
      history: [{ created_by: 'authlab cluster images (no base image)' }],
    }),
  );
  const configDigest = `sha256:${sha256(config)}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: blobs.map((b, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digests[i], size: b.length })),
    }),
  );
  const manifestDigest = `sha256:${sha256(manifest)}`;
  const tag = configDigest.slice('sha256:'.length, 'sha256:'.length + 16);
  const ref = `localhost/authlab/${name}:${tag}`;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  const blob = (digest: string, data: Buffer): TarEntry => ({ path: `blobs/sha256/${digest.slice(7)}`, type: 'file', mode: 0o644, data });
  const archive = tar([
    { path: 'oci-layout', type: 'file', mode: 0o644, data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { path: 'index.json', type: 'file', mode: 0o644, data: index },
    { path: 'blobs', type: 'dir', mode: 0o755 },
    { path: 'blobs/sha256', type: 'dir', mode: 0o755 },
    blob(configDigest, config),
    blob(manifestDigest, manifest),
    ...blobs.map((b, i) => blob(digests[i]!, b)),
  ]);
  return { ref, archive, configDigest };
}
