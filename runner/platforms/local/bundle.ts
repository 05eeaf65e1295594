import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CACHE_DIR, componentEntry } from './paths.js';

/** How a component is launched: `node <args…> --config <file>`. */
export interface Launch {
  /** Arguments before `--config`. */
  args: string[];
  /** `bundle` (one pre-built ESM file) or `tsx` (TypeScript loaded file by file). */
  via: 'bundle' | 'tsx';
}

/**
 * Launch arguments of each `system/<component>/main.ts`. By default the component's own TypeScript is
 * bundled by esbuild into one ESM file (npm packages stay external), which roughly halves the CPU a
 * child spends loading code: ten children start on two cores, so this is most of start-up. The file
 * name carries a hash of its content, so concurrent platforms share it and edits are never stale.
 * Falls back to `--import tsx` when esbuild is not installed or `AUTHLAB_NO_BUNDLE=1`.
 */
export async function launchesFor(components: readonly string[]): Promise<Map<string, Launch>> {
  const tsx = (c: string): Launch => ({ args: ['--import', 'tsx', componentEntry(c)], via: 'tsx' });
  const all = (f: (c: string) => Launch) => new Map(components.map((c) => [c, f(c)]));
  if (process.env.AUTHLAB_NO_BUNDLE === '1') return all(tsx);
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return all(tsx);
  }
  try {
    const built = await Promise.all(components.map((c) => bundle(esbuild, c).catch(() => tsx(c))));
    return new Map(components.map((c, i) => [c, built[i]!]));
  } finally {
    // esbuild keeps a helper process for reuse; stop it so no child outlives start-up.
    await esbuild.stop();
  }
}

async function bundle(esbuild: typeof import('esbuild'), component: string): Promise<Launch> {
  const entry = componentEntry(component);
  await stat(entry); // a missing component falls back to tsx, whose spawn names the missing path
  const out = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0]?.contents;
  if (!code) throw new Error(`esbuild produced no output for ${entry}`);
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const file = join(CACHE_DIR, `${component}-${hash}.mjs`);
  try {
    await stat(file);
  } catch {
    await mkdir(CACHE_DIR, { recursive: true });
    // Write then rename: a concurrent platform never sees a half-written file.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, code);
    await rename(tmp, file);
    await pruneOld(component, file);
  }
  return { args: [file], via: 'bundle' };
}

/** Bundles of older source versions, kept an hour in case a concurrent platform is still starting one. */
async function pruneOld(component: string, keep: string): Promise<void> {
  const cutoff = Date.now() - 3600_000;
  for (const name of await readdir(CACHE_DIR)) {
    const path = join(CACHE_DIR, name);
    if (path === keep || !name.startsWith(`${component}-`) || !name.endsWith('.mjs')) continue;
    const info = await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) await rm(path, { force: true });
  }
}
