import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'prettier';
import { dashboards } from './dashboards.js';
import { GRAFANA_DIR } from './paths.js';

export { GRAFANA_DIR };

/** Each dashboard as the exact text committed under cluster/grafana/ (Prettier-formatted JSON). */
export async function renderDashboards(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [file, d] of Object.entries(dashboards())) out[file] = await format(JSON.stringify(d), { parser: 'json', printWidth: 140 });
  return out;
}

/** Files whose committed text differs from what the builders make now. */
export async function staleDashboards(): Promise<string[]> {
  const stale: string[] = [];
  for (const [file, text] of Object.entries(await renderDashboards())) {
    const committed = await readFile(join(GRAFANA_DIR, file), 'utf8').catch(() => '');
    if (committed !== text) stale.push(file);
  }
  return stale;
}

// `npm run dashboards`: regenerate.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, text] of Object.entries(await renderDashboards())) {
    await writeFile(join(GRAFANA_DIR, file), text);
    console.log(`wrote cluster/grafana/${file}`);
  }
}
