import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { ValueError } from '@sinclair/typebox/errors';
import { ReportError } from './errors.js';
import { ResultsSchema } from './schema.js';
import type { Results } from './schema.js';

// Compiled on first use, so importing the contract for its types costs nothing.
let check: TypeCheck<typeof ResultsSchema> | undefined;

/** TypeBox's message; for a value outside a list of names (mode, engine, platform…), the names allowed and the value found. */
function describe(error: ValueError): string {
  const options = (error.schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (error.type === ValueErrorType.Union && options && options.length > 0 && options.every((o) => typeof o.const === 'string')) {
    return `expected one of ${options.map((o) => `'${String(o.const)}'`).join(', ')} (got ${JSON.stringify(error.value)})`;
  }
  return error.message.toLowerCase();
}

/**
 * Checks that `data` is a results.json of schemaVersion 1 (`ResultsSchema`, the one the types come
 * from) and returns it typed.
 *
 * @param source where the data came from (a path), named in the message.
 * @throws ReportError ERR_RESULTS_SCHEMA naming the first offending field and what it should be.
 */
export function validateResults(data: unknown, source = 'results.json'): Results {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ReportError(
      'ERR_RESULTS_SCHEMA',
      `${source} is not a JSON object; pass the results.json a study wrote (runs/<study-id>/results.json).`,
    );
  }
  const version = (data as { schemaVersion?: unknown }).schemaVersion;
  if (version !== 1) {
    throw new ReportError(
      'ERR_RESULTS_SCHEMA',
      `${source} has schemaVersion ${JSON.stringify(version ?? null)} but this authlab reads schemaVersion 1; re-run the study or use the authlab version that wrote it.`,
    );
  }
  check ??= TypeCompiler.Compile(ResultsSchema);
  if (check.Check(data)) return data;
  const first = check.Errors(data).First();
  const where = first === undefined || first.path === '' ? '(top level)' : first.path;
  const what = first === undefined ? 'the value does not match the schema' : describe(first);
  throw new ReportError(
    'ERR_RESULTS_SCHEMA',
    `${source} is not a valid results.json: at ${where}, ${what}; fix that field or re-run the study.`,
  );
}
