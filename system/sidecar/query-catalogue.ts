import { AuthlabError } from '../protocol/errors.js';
import { excerpt } from '../protocol/excerpt.js';
import { HEAVY_N_DEFAULT, HEAVY_N_MAX, QUERY_NAMES, QUERY_ROLE, type QueryName, type Role } from '../protocol/roles.js';

/** Rows in `items`; `light` reads ids 1..ITEM_ROWS. */
export const ITEM_ROWS = 10_000;
/** Longest `write` note, characters. */
export const WRITE_NOTE_MAX = 200;

/** A validated `/query` body: typed params with defaults applied. */
export type ParsedQuery =
  | { query: 'light'; role: Role; id: number }
  | { query: 'heavy'; role: Role; n: number }
  | { query: 'heavy-cached'; role: Role; n: number }
  | { query: 'write'; role: Role; note: string | null };

const hasOwn = Object.prototype.hasOwnProperty;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function intIn(name: string, v: unknown, min: number, max: number, query: QueryName): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new AuthlabError('ERR_BAD_PARAMS', `${query}: "${name}" must be an integer in ${min}..${max} (got ${excerpt(v)}).`);
  }
  return v;
}

function onlyKeys(params: Record<string, unknown>, allowed: readonly string[], query: QueryName): void {
  for (const k in params) {
    if (hasOwn.call(params, k) && !allowed.includes(k)) {
      const hint = allowed.length ? `allowed: ${allowed.join(', ')}` : 'it takes no parameters';
      throw new AuthlabError('ERR_BAD_PARAMS', `${query}: unknown parameter ${excerpt(k)} (${hint}).`);
    }
  }
}

/**
 * Validates a `/query` body `{"query": "<name>", "params": {...}}` once at the edge, by hand: it is on
 * the hot path, so no schema compile or per-request closure. Throws {@link AuthlabError} (400).
 * @param random uniform [0,1) used for `light`'s default id
 */
export function parseQueryBody(body: unknown, random: () => number = Math.random): ParsedQuery {
  if (!isPlainObject(body)) {
    throw new AuthlabError(
      'ERR_BAD_REQUEST',
      'The body must be a JSON object {"query": "light|heavy|heavy-cached|write", "params": {...}}.',
    );
  }
  for (const k in body) {
    if (hasOwn.call(body, k) && k !== 'query' && k !== 'params') {
      throw new AuthlabError('ERR_BAD_REQUEST', `Unknown top-level field ${excerpt(k)}: the body has only "query" and "params".`);
    }
  }
  const query = body.query;
  if (typeof query !== 'string' || !(QUERY_NAMES as readonly string[]).includes(query)) {
    const got = query === undefined ? 'The body names no "query"' : `Unknown query ${excerpt(query)}`;
    throw new AuthlabError('ERR_UNKNOWN_QUERY', `${got}: use one of ${QUERY_NAMES.join(', ')}.`);
  }
  const raw = body.params;
  if (raw !== undefined && !isPlainObject(raw)) {
    throw new AuthlabError('ERR_BAD_PARAMS', `"params" must be a JSON object (got ${excerpt(raw)}).`);
  }
  const params = raw ?? {};
  switch (query as QueryName) {
    case 'light': {
      onlyKeys(params, ['id'], 'light');
      const id = params.id === undefined ? 1 + Math.floor(random() * ITEM_ROWS) : intIn('id', params.id, 1, ITEM_ROWS, 'light');
      return { query: 'light', role: QUERY_ROLE.light, id };
    }
    case 'heavy': {
      onlyKeys(params, ['n'], 'heavy');
      const n = params.n === undefined ? HEAVY_N_DEFAULT : intIn('n', params.n, 1, HEAVY_N_MAX, 'heavy');
      return { query: 'heavy', role: QUERY_ROLE.heavy, n };
    }
    case 'heavy-cached': {
      onlyKeys(params, ['n'], 'heavy-cached');
      const n = params.n === undefined ? HEAVY_N_DEFAULT : intIn('n', params.n, 1, HEAVY_N_MAX, 'heavy-cached');
      return { query: 'heavy-cached', role: QUERY_ROLE['heavy-cached'], n };
    }
    case 'write': {
      onlyKeys(params, ['note'], 'write');
      const note = params.note;
      if (note !== undefined && (typeof note !== 'string' || note.length > WRITE_NOTE_MAX)) {
        throw new AuthlabError('ERR_BAD_PARAMS', `write: "note" must be a string of at most ${WRITE_NOTE_MAX} characters.`);
      }
      // PostgreSQL text cannot hold U+0000: refused here, before any database work, not by the database.
      if (note !== undefined && note.includes('\u0000')) {
        throw new AuthlabError('ERR_BAD_PARAMS', 'write: "note" must not contain the NUL character (\\u0000).');
      }
      return { query: 'write', role: QUERY_ROLE.write, note: note ?? null };
    }
  }
}
