import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the authlab checkout (this file is runner/platforms/local/paths.ts). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/**
 * Where the local platform keeps what it builds once and reuses (component bundles, the PostgreSQL
 * template cluster). Inside the repo so a bundle's bare imports (`fastify`, `pg`) resolve from node_modules.
 */
export const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'authlab');

/** Absolute path of a component's entry point, `system/<component>/main.ts`. */
export function componentEntry(component: string): string {
  return join(REPO_ROOT, 'system', component, 'main.ts');
}
