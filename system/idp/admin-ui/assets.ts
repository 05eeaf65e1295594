import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's static files, as served. */
export interface AdminUiAssets {
  html: string;
  css: string;
  js: string;
}

const WEB = join('system', 'idp', 'admin-ui', 'web');

/**
 * The `web/` directory. Run from source this file sits beside it; the local platform runs the IdP as
 * one esbuild bundle under node_modules/.cache/authlab, so walk up to the checkout that holds it.
 */
export async function webDir(from = dirname(fileURLToPath(import.meta.url))): Promise<string> {
  const candidates = [join(from, 'web')];
  for (let d = from; ; d = dirname(d)) {
    candidates.push(join(d, WEB));
    if (dirname(d) === d) break;
  }
  for (const c of candidates) {
    try {
      await access(join(c, 'main.ts'));
      return c;
    } catch {
      // try the next one
    }
  }
  throw new Error(`admin UI sources not found (looked for ${WEB}/main.ts above ${from})`);
}

/**
 * Builds the page: index.html and style.css as written, the browser code bundled by esbuild into one
 * minified ES module (no CDN, no inline script, so the CSP can forbid both). Called on the first
 * request for the page, not at IdP start: studies restart the IdP and should not pay for a bundle.
 */
export async function buildAdminUiAssets(dir?: string): Promise<AdminUiAssets> {
  const web = dir ?? (await webDir());
  const esbuild = await import('esbuild');
  try {
    const out = await esbuild.build({
      entryPoints: [join(web, 'main.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    const js = out.outputFiles[0]?.text;
    if (!js) throw new Error('esbuild produced no output for the admin UI');
    const [html, css] = await Promise.all([readFile(join(web, 'index.html'), 'utf8'), readFile(join(web, 'style.css'), 'utf8')]);
    return { html, css, js };
  } finally {
    // esbuild keeps a helper process for reuse; the IdP should not carry it.
    await esbuild.stop();
  }
}
