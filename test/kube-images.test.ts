import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedImage } from '../cluster/images/image-cache.js';
import { ociImage } from '../cluster/images/oci-archive.js';
import { tar } from '../cluster/images/tar.js';

// Images without a registry: archives other tools read, content-addressed tags, rebuilt only on change.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authlab-images-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const layer = (text: string) => [
  { path: 'app', type: 'dir' as const, mode: 0o755 },
  { path: 'app/main.mjs', type: 'file' as const, mode: 0o644, uid: 10001, gid: 10001, data: Buffer.from(text) },
  { path: `deep/${'x'.repeat(120)}/file`, type: 'file' as const, mode: 0o600, data: Buffer.from('long path') },
  { path: 'app/link', type: 'symlink' as const, mode: 0o777, linkname: 'main.mjs' },
];

describe('OCI archives built by the runner', () => {
  it('writes a tar that GNU tar lists with the owners, modes, long paths and links it was given', async () => {
    const file = join(dir, 'layer.tar');
    await writeFile(file, tar(layer('console.log(1)')));
    const listing = execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' });
    expect(listing).toMatch(/-rw-r--r-- 10001\/10001\s+14 .* app\/main\.mjs/);
    expect(listing).toContain(`deep/${'x'.repeat(120)}/file`);
    expect(listing).toMatch(/app\/link -> main\.mjs/);
  });

  it('is an OCI image layout whose tag is its config digest: same inputs, same tag; other inputs, other tag', () => {
    const a = ociImage('demo', [layer('v1')], { user: '10001:10001', entrypoint: ['/app/main.mjs'] });
    const again = ociImage('demo', [layer('v1')], { user: '10001:10001', entrypoint: ['/app/main.mjs'] });
    const b = ociImage('demo', [layer('v2')], { user: '10001:10001', entrypoint: ['/app/main.mjs'] });
    expect(again.ref).toBe(a.ref);
    expect(again.archive.equals(a.archive)).toBe(true);
    expect(b.ref).not.toBe(a.ref);
    expect(a.ref).toBe(`localhost/authlab/demo:${a.configDigest.slice(7, 23)}`);
  });

  it('index.json names the image for containerd and the manifest lists the layer by digest', async () => {
    const img = ociImage('demo', [layer('v1')], { user: '10001:10001', entrypoint: ['/app/main.mjs'] });
    const out = join(dir, 'oci');
    await writeFile(`${out}.tar`, img.archive);
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', `${out}.tar`, '-C', out]);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests[0]!.annotations['io.containerd.image.name']).toBe(img.ref);
    const manifest = JSON.parse(await readFile(join(out, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as {
      layers: { digest: string }[];
      config: { digest: string };
    };
    const config = JSON.parse(await readFile(join(out, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8')) as {
      config: { User: string };
      rootfs: { diff_ids: string[] };
    };
    expect(config.config.User).toBe('10001:10001');
    expect(config.rootfs.diff_ids).toEqual(manifest.layers.map((l) => l.digest));
  });

  it('rebuilds an image only when one of its inputs changes', async () => {
    let builds = 0;
    const build = (v: string) => async () => (builds++, ociImage('demo', [layer(v)], { user: '10001:10001', entrypoint: ['/x'] }));
    const first = await cachedImage(dir, 'demo', ['v1'], build('v1'));
    const second = await cachedImage(dir, 'demo', ['v1'], build('v1'));
    const third = await cachedImage(dir, 'demo', ['v2'], build('v2'));
    expect([first.built, second.built, third.built]).toEqual([true, false, true]);
    expect(builds).toBe(2);
    expect(second.ref).toBe(first.ref);
    expect(third.ref).not.toBe(first.ref);
  });
});
