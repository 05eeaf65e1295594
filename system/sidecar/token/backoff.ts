import { AuthlabError } from '../../protocol/errors.js';

/**
 * Retry delays after a failed token fetch, by error class (AWS "full jitter": a uniform draw in
 * [0, min(cap, base·2^attempt)]), so a fleet that failed together does not retry together.
 */

/** Why a fetch failed; decides how long to wait. */
export type FetchErrorClass = 'network' | 'server' | 'throttled' | 'client';

/**
 * A failed token fetch (code ERR_TOKEN_FETCH) with its class, the IdP's HTTP status when it answered,
 * and, for 429/503, the server's `Retry-After` (ms).
 */
export class TokenFetchError extends AuthlabError {
  readonly errorClass: FetchErrorClass;
  /** Status of the IdP's answer; undefined when it did not answer (network error). */
  readonly idpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(errorClass: FetchErrorClass, message: string, options: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super('ERR_TOKEN_FETCH', message, { cause: options.cause });
    this.name = 'TokenFetchError';
    this.errorClass = errorClass;
    this.idpStatus = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Base and cap of the exponential backoff per class, ms. */
export interface BackoffConfig {
  /** network errors and 5xx: retry soon. Default base 250 ms, cap 30 s. */
  transient: { baseMs: number; capMs: number };
  /** 4xx (bad SA token, no grant): a retry rarely helps. Default base 30 s, cap 5 min. */
  client: { baseMs: number; capMs: number };
}

export const DEFAULT_BACKOFF: BackoffConfig = {
  transient: { baseMs: 250, capMs: 30_000 },
  client: { baseMs: 30_000, capMs: 300_000 },
};

/**
 * Delay before the next attempt, ms.
 * @param attempt 0 for the first retry after one failure
 * @param random  uniform draw in [0, 1)
 */
export function backoffDelayMs(error: TokenFetchError, attempt: number, random: number, config: BackoffConfig = DEFAULT_BACKOFF): number {
  const { baseMs, capMs } = error.errorClass === 'client' ? config.client : config.transient;
  // 2^attempt overflows to Infinity after ~1000 attempts; min() keeps it at the cap.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  const jittered = ceiling * random;
  if (error.errorClass === 'throttled' && error.retryAfterMs !== undefined) {
    // The server told us when; never come back earlier, jitter only on top to desynchronise.
    return error.retryAfterMs + jittered * 0.1;
  }
  return jittered;
}

/**
 * Parses an HTTP `Retry-After` value (delta-seconds or HTTP-date) into ms from `nowMs`;
 * undefined when absent or unparsable.
 */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Classifies an HTTP status of the token endpoint. */
export function classifyStatus(status: number): FetchErrorClass {
  if (status === 429 || status === 503) return 'throttled';
  if (status >= 500) return 'server';
  return 'client';
}
