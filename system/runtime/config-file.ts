import { readFile } from 'node:fs/promises';

/**
 * Process plumbing shared by the components' `main.ts` (identity, IdP, sidecar): reading the
 * `--config <file.json>` they are started with. Validation of the contents stays with each component.
 */

/**
 * Reads and parses a JSON file, with an error that names the file and what went wrong.
 * @param what how messages name the file, e.g. "config file" or "sidecar config"
 */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${what} ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Value of `--config <file>` in argv, or an Error saying how to call `program`. */
export function configPathFromArgv(argv: string[], program: string): string {
  const i = argv.indexOf('--config');
  const p = i >= 0 ? argv[i + 1] : undefined;
  if (!p) throw new Error(`usage: node --import tsx ${program} --config <file.json>`);
  return p;
}
