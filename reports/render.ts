import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ReportError } from '../results/errors.js';
import { appendHistory, type History } from './history.js';
import { renderHtml } from './html/page.js';
import { renderMarkdown } from './markdown.js';
import { buildScenarioModels } from './model.js';
import type { Results } from '../results/schema.js';
import { validateResults } from '../results/validate.js';

/** Renders both outputs of a study from its (already validated) results. Pure: no I/O but reading Chart.js. */
export function renderReport(results: Results, history?: History): { html: string; markdown: string } {
  // The model decodes and merges every run's histogram, the costliest step of a render: build it once for both.
  const scenarios = buildScenarioModels(results);
  return { html: renderHtml(results, scenarios, history), markdown: renderMarkdown(results, scenarios) };
}

/**
 * Reads and validates a results.json file.
 *
 * @throws ReportError ERR_RESULTS_NOT_FOUND, ERR_RESULTS_NOT_JSON or ERR_RESULTS_SCHEMA, each one sentence.
 */
export async function loadResults(path: string): Promise<Results> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? 'unknown error'})`;
    throw new ReportError(
      'ERR_RESULTS_NOT_FOUND',
      `${path} ${why}; pass the path of a study's results.json (e.g. runs/latest/results.json).`,
      { cause },
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new ReportError(
      'ERR_RESULTS_NOT_JSON',
      `${path} is not valid JSON (${(cause as Error).message}); pass the results.json a study wrote.`,
      { cause },
    );
  }
  return validateResults(data, path);
}

/**
 * Writes report.html and summary.md for a results.json, next to it unless `outDir` is given. With
 * `historyPath`, first appends the study to that benchmark history (reports/history.ts) and adds its
 * trend chart to the page.
 *
 * @returns absolute paths of the two files.
 */
export async function writeReport(
  resultsPath: string,
  outDir?: string,
  historyPath?: string,
): Promise<{ htmlPath: string; mdPath: string }> {
  const results = await loadResults(resultsPath);
  const history = historyPath === undefined ? undefined : await appendHistory(historyPath, results);
  const { html, markdown } = renderReport(results, history);
  const dir = resolve(outDir ?? dirname(resultsPath));
  await mkdir(dir, { recursive: true });
  const htmlPath = join(dir, 'report.html');
  const mdPath = join(dir, 'summary.md');
  await writeFile(htmlPath, html);
  await writeFile(mdPath, markdown);
  return { htmlPath, mdPath };
}
