import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `system/<component>/main.ts` and every npm package it imports bundled by esbuild into one ESM file,
 * so the image needs no node_modules. CommonJS dependencies get a `require` from `createRequire`.
 */
export async function bundleComponent(component: 'idp' | 'sidecar'): Promise<Buffer> {
  const esbuild = await import('esbuild');
  try {
    const out = await esbuild.build({
      entryPoints: [join(ROOT, 'system', component, 'main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      // pg's optional native binding is never installed; pg falls back to its JavaScript client.
      external: ['pg-native'],
      banner: {
        js: "import { createRequire as __authlabCreateRequire } from 'node:module'; const require = __authlabCreateRequire(import.meta.url);",
      },
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]?.contents;
    if (!code) throw new Error(`esbuild produced no output for system/${component}/main.ts`);
    return Buffer.from(code);
  } finally {
    await esbuild.stop();
  }
}
