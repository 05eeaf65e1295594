import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { K6_IMAGE_BINARY, k6Image } from '../cluster/images/k6-image.js';
import { findK6, K6_SCRIPTS_DIR } from '../runner/engines/k6.js';

const run = promisify(execFile);
const k6 = await findK6();
if (!k6) console.warn('SKIP test/k6-image.test.ts: no k6 binary (go install go.k6.io/k6@v1.8.1)');

// The image in-cluster load runners run: the runner's own k6 and scenarios/k6, packed like the others.
describe.skipIf(!k6)('k6 image', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('holds the k6 binary and every scenario script, is tagged by content and reused from the cache', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'authlab-k6-image-'));
    dirs.push(dir);
    const first = await k6Image(dir, k6!, K6_SCRIPTS_DIR, () => {});
    expect(first.built).toBe(true);
    expect(first.ref).toMatch(/^localhost\/authlab\/k6:[0-9a-f]{16}$/);
    const again = await k6Image(dir, k6!, K6_SCRIPTS_DIR, () => {});
    expect(again).toEqual({ ...first, built: false });
    // The OCI layout's layer is a tar inside the archive: list it with GNU tar.
    const blobs = (await run('tar', ['-tf', first.archive])).stdout
      .split('\n')
      .filter((l) => l.startsWith('blobs/sha256/') && l.length > 20);
    const listings = await Promise.all(
      blobs.map((b) =>
        run(
          'sh',
          [
            '-c',
            `tar -xOf '${first.archive}' '${b}' | tar -tzf - 2>/dev/null || tar -xOf '${first.archive}' '${b}' | tar -tf - 2>/dev/null || true`,
          ],
          {
            maxBuffer: 64 << 20,
          },
        ).then((r) => r.stdout),
      ),
    );
    const files = listings.join('\n');
    expect(files).toContain(K6_IMAGE_BINARY.slice(1));
    for (const script of ['scripts/lib.ts', 'scripts/generic.ts', 'scripts/light.ts']) expect(files).toContain(script);
  }, 120_000);
});
