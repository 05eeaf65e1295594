/** Longest excerpt of a client's string quoted back in an error message, characters. */
export const EXCERPT_MAX_CHARS = 32;

/**
 * A short, escaped description of a value a client sent, for an error message: a string is quoted
 * (JSON escapes, plus `<`, `>`, `&` and the line separators as `\uXXXX`) and cut to
 * {@link EXCERPT_MAX_CHARS} with its length noted; an array or object is named, never walked (a
 * body nested thousands deep must not overflow the stack, and a 60 KB body must not come back).
 */
export function excerpt(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      const cut = value.length > EXCERPT_MAX_CHARS ? `${value.slice(0, EXCERPT_MAX_CHARS)}` : value;
      const quoted = JSON.stringify(cut).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      return cut === value ? quoted : `${quoted.slice(0, -1)}…" (${value.length} characters)`;
    }
    case 'number':
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'nothing';
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? `an array of ${value.length} item${value.length === 1 ? '' : 's'}` : 'an object';
    default:
      return `a ${typeof value}`;
  }
}
