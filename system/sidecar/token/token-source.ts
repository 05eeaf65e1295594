import { AuthlabError } from '../../protocol/errors.js';
import { backoffDelayMs, DEFAULT_BACKOFF, TokenFetchError, type BackoffConfig, type FetchErrorClass } from './backoff.js';
import { refreshPolicyByName, type RefreshPolicy, type RefreshPolicyName } from './refresh-policy.js';

/** A token as fetched from the IdP. Times in ms since epoch. */
export interface FetchedToken {
  accessToken: string;
  expiresAt: number;
  issuedAt: number;
}

/** Time, injectable so the schedule can be tested with a fake clock. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending refresh must not keep a process (or a test) alive on its own.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Events a token source reports (for metrics); `durationMs` is the fetch's wall time. */
export type TokenSourceEvent =
  | { type: 'fetched'; durationMs: number; token: FetchedToken; forced: boolean }
  | { type: 'failed'; durationMs: number; errorClass: FetchErrorClass; error: TokenFetchError; retryInMs: number }
  | { type: 'expired' };

export interface TokenSourceOptions {
  /** One exchange with the IdP; throw {@link TokenFetchError} to pick the backoff class. */
  fetchToken: () => Promise<FetchedToken>;
  clock?: Clock;
  /** A policy function or a built-in name; default `window` (uniform in [50%, 90%]). */
  policy?: RefreshPolicy | RefreshPolicyName;
  /** Uniform [0,1) source; default Math.random. */
  random?: () => number;
  backoff?: BackoffConfig;
  onMetric?: (event: TokenSourceEvent) => void;
}

export interface TokenSource {
  /** The current token, fetching it if none is valid (concurrent callers share one fetch). */
  get(): Promise<string>;
  /** The current valid token, or null (never fetches). */
  current(): FetchedToken | null;
  /**
   * Drops the current token from use and fetches a new one now, resolving to it. If that fetch fails,
   * a still-valid old token is kept and served to every other caller (fail-static), but this call
   * rejects: ERR_TOKEN_REFRESH_FAILED while the old token is held, else ERR_NO_TOKEN.
   */
  forceRefresh(): Promise<string>;
  /** Fetches the first token (errors are retried in the background, not thrown). */
  start(): void;
  /** Cancels the timer; an in-flight fetch completes but schedules nothing. */
  stop(): void;
  /** When the next refresh or retry is due (ms since epoch), or null. */
  nextAttemptAt(): number | null;
}

/**
 * Builds a token source: one timer per instance and no intervals, so thousands can live in one
 * process (token storms). Refresh time comes from the policy; failures back off by class; a valid
 * token keeps being served whatever the IdP does (fail-static).
 */
export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const policy = typeof options.policy === 'function' ? options.policy : refreshPolicyByName(options.policy);
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const emit = options.onMetric;

  let token: FetchedToken | null = null;
  // A token dropped by forceRefresh, kept only to fall back on if the forced fetch fails.
  let fallback: FetchedToken | null = null;
  let inflight: Promise<string> | null = null;
  let timer: unknown = null;
  let dueAt: number | null = null;
  let failures = 0;
  /** Successful fetches so far: tells a forced refresh whether a new token came. */
  let fetched = 0;
  let lastError: TokenFetchError | null = null;
  let stopped = false;

  const valid = (t: FetchedToken | null): t is FetchedToken => t !== null && t.expiresAt > clock.now();

  function schedule(at: number): void {
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
    dueAt = null;
    if (stopped) return;
    dueAt = at;
    timer = clock.setTimeout(onTimer, Math.max(0, at - clock.now()));
  }

  function onTimer(): void {
    timer = null;
    dueAt = null;
    if (!inflight) void fetchNow(false).catch(() => {});
  }

  function fetchNow(forced: boolean): Promise<string> {
    const started = clock.now();
    const p = (async () => {
      try {
        const fresh = await options.fetchToken();
        const now = clock.now();
        token = fresh;
        fallback = null;
        failures = 0;
        fetched++;
        lastError = null;
        emit?.({ type: 'fetched', durationMs: now - started, token: fresh, forced });
        const at = policy(fresh.issuedAt, fresh.expiresAt, now, random());
        schedule(Math.min(Math.max(at, now), fresh.expiresAt));
        return fresh.accessToken;
      } catch (err) {
        const error =
          err instanceof TokenFetchError ? err : new TokenFetchError('network', `token fetch failed: ${String(err)}`, { cause: err });
        lastError = error;
        const retryInMs = backoffDelayMs(error, failures, random(), backoff);
        failures++;
        if (!valid(token) && valid(fallback)) token = fallback;
        fallback = null;
        emit?.({ type: 'failed', durationMs: clock.now() - started, errorClass: error.errorClass, error, retryInMs });
        schedule(clock.now() + retryInMs);
        if (valid(token)) return token.accessToken;
        throw noToken(error);
      } finally {
        inflight = null;
      }
    })();
    inflight = p;
    return p;
  }

  function noToken(cause: TokenFetchError | null): AuthlabError {
    const retry = dueAt === null ? '' : ` Next attempt in ${Math.max(0, dueAt - clock.now())} ms.`;
    return new AuthlabError(
      'ERR_NO_TOKEN',
      `No valid access token: ${cause ? cause.message : 'none fetched yet'}.${retry} Check that the IdP is reachable and grants this service.`,
      { cause },
    );
  }

  return {
    get() {
      if (valid(token)) return Promise.resolve(token.accessToken);
      if (token !== null) {
        token = null;
        emit?.({ type: 'expired' });
      }
      if (inflight) return inflight;
      // In backoff: fail fast instead of hammering the IdP with one fetch per caller.
      if (dueAt !== null && lastError !== null) return Promise.reject(noToken(lastError));
      return fetchNow(false);
    },
    current() {
      return valid(token) ? token : null;
    },
    async forceRefresh() {
      if (valid(token)) fallback = token;
      token = null;
      failures = 0;
      const before = fetched;
      const got = await (inflight ?? fetchNow(true));
      if (fetched > before) return got;
      // The fetch failed and the old token came back: it is still served, but it is not a new one.
      // (fetchNow set `token` meanwhile: TypeScript still sees the null assigned above.)
      const kept = token as FetchedToken | null;
      const exp = kept ? new Date(kept.expiresAt).toISOString() : 'its expiry';
      const retry = dueAt === null ? '' : ` The sidecar retries on its own in ${Math.max(0, dueAt - clock.now())} ms.`;
      throw new AuthlabError(
        'ERR_TOKEN_REFRESH_FAILED',
        `The IdP issued no new token: ${lastError ? lastError.message : 'the exchange failed'}. The current token stays in use until ${exp}.${retry}`,
        { cause: lastError },
      );
    },
    start() {
      stopped = false;
      if (!inflight && !valid(token)) void fetchNow(false).catch(() => {});
    },
    stop() {
      stopped = true;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      dueAt = null;
    },
    nextAttemptAt() {
      return dueAt;
    },
  };
}
