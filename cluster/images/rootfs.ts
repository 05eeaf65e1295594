import { readFile, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mustExec } from '../exec.js';
import type { TarEntry } from './tar.js';

/** Non-root identities of the images (no user of the host is reused). */
export const IMAGE_USERS = { app: { name: 'authlab', uid: 10001 }, postgres: { name: 'postgres', uid: 10002 } } as const;

/** Adds `path`'s parent directories (once each) to `entries`. */
export function withParents(entries: TarEntry[]): TarEntry[] {
  const dirs = new Set<string>();
  const out: TarEntry[] = [];
  const add = (p: string) => {
    const parent = dirname(p);
    if (parent === '.' || parent === '/' || dirs.has(parent)) return;
    add(parent);
    dirs.add(parent);
    out.push({ path: parent, type: 'dir', mode: 0o755 });
  };
  for (const e of entries) {
    if (e.type === 'dir') {
      if (dirs.has(e.path)) continue;
      add(e.path);
      dirs.add(e.path);
      out.push(e);
    } else {
      add(e.path);
      out.push(e);
    }
  }
  return out;
}

/**
 * The shared libraries `binaries` load, as `ldd` resolves them on this host (Debian's glibc, libstdc++),
 * at the same paths in the image; the image then needs no base image and no package manager.
 * Libraries found under `skipUnder` (e.g. ones the image ships itself) are left out.
 */
export async function sharedLibraries(binaries: readonly string[], skipUnder: readonly string[] = []): Promise<TarEntry[]> {
  const paths = new Set<string>();
  for (const b of binaries) {
    const out = await mustExec('ldd', [b]);
    for (const m of out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) {
      const p = m[1]!;
      if (!skipUnder.some((s) => p.startsWith(s))) paths.add(p);
    }
  }
  const entries: TarEntry[] = [];
  for (const p of [...paths].sort()) entries.push({ path: p.slice(1), type: 'file', mode: 0o755, data: await readFile(await realpath(p)) });
  return entries;
}

/** /etc/passwd, /etc/group, a world-writable /tmp and the user's home: what a non-root process expects. */
export function baseFiles(user: { name: string; uid: number }, home: string): TarEntry[] {
  return [
    {
      path: 'etc/passwd',
      type: 'file',
      mode: 0o644,
      data: Buffer.from(`root:x:0:0:root:/root:/sbin/nologin\n${user.name}:x:${user.uid}:${user.uid}::${home}:/sbin/nologin\n`),
    },
    { path: 'etc/group', type: 'file', mode: 0o644, data: Buffer.from(`root:x:0:\n${user.name}:x:${user.uid}:\n`) },
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: home.slice(1), type: 'dir', mode: 0o755, uid: user.uid, gid: user.uid },
  ];
}
