import type { Static, TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

/**
 * TypeBox validation with actionable messages, for what components read at their edge: config
 * files and admin request bodies (no I/O here).
 *
 * Schemas say what a failing value should be with the option `mustBe` ("must be an http(s) URL"),
 * so a message reads `trustedIssuers[0].jwksUri must be an http(s) URL (got "ftp://x")` rather
 * than TypeBox's "Expected string". An object schema with `additionalProperties: false` may name
 * itself with `what` ("the grant") for the unknown-field message.
 */
export interface MessageOptions {
  /** Failing this schema: what the value must be, after the field name. */
  mustBe?: string;
  /** An object schema: how "unknown field ... in <what>" names it (default: its field path). */
  what?: string;
  /** Never echo the value (tokens, URLs with passwords): the message says "(value not shown)" instead. */
  secret?: boolean;
}

/** `/trustedIssuers/0/jwksUri` → `trustedIssuers[0].jwksUri`. */
function fieldOf(path: string): string {
  return path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '');
}

function got(value: unknown): string {
  return value === undefined ? 'missing' : `got ${JSON.stringify(value)}`;
}

/**
 * Every problem of `value` against `schema`, one sentence each: unknown fields first (a misspelt
 * field also shows up as a missing one, and the spelling is the thing to fix), then in schema order;
 * a field nested in one already reported is not reported again. Empty when the value conforms.
 *
 * @param at field path of `value` inside the document, prefixed to every field named.
 */
export function schemaProblems(schema: TSchema, value: unknown, at = ''): string[] {
  const reported: string[] = [];
  const unknown: string[] = [];
  const out: string[] = [];
  for (const e of Value.Errors(schema, value)) {
    const field = at + fieldOf(e.path).replace(/^(?=[^[])/, at ? '.' : '');
    const opts = e.schema as MessageOptions & { properties?: Record<string, unknown> };
    if (e.type === ValueErrorType.ObjectAdditionalProperties) {
      const parent = field.replace(/(\.|^)[^.[\]]+$/, '');
      const key = e.path.split('/').at(-1) ?? '';
      const allowed = Object.keys(opts.properties ?? {}).join(', ');
      unknown.push(`unknown field ${JSON.stringify(key)} in ${opts.what ?? (parent || 'the body')}; allowed: ${allowed}`);
      continue;
    }
    if (reported.some((r) => field === r || field.startsWith(`${r}.`) || field.startsWith(`${r}[`) || r === '')) continue;
    reported.push(field);
    const mustBe = opts.mustBe ?? e.message.toLowerCase();
    const shown = opts.secret && e.value !== undefined ? 'value not shown' : got(e.value);
    // A single key is quoted as in the JSON ("port"); a path is written bare (global.verifyMode),
    // since "global.verifyMode" would read as one key with a dot in it.
    const name = /[.[]/.test(field) ? field : `"${field}"`;
    out.push(field === '' ? mustBe : `${name} ${mustBe} (${shown})`);
  }
  return [...unknown, ...out];
}

/**
 * `value` typed by `schema`, or `fail(problems)` (which throws the caller's error: a config Error,
 * a 400 AuthlabError).
 */
export function checkSchema<T extends TSchema>(schema: T, value: unknown, fail: (problems: string[]) => never, at = ''): Static<T> {
  const problems = schemaProblems(schema, value, at);
  if (problems.length > 0) fail(problems);
  return value as Static<T>;
}
