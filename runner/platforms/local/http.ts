import { setTimeout as sleep } from 'node:timers/promises';
import { PlatformError } from './errors.js';

/**
 * Per-request timeout of control-plane calls, ms. Generous on purpose: on a 2-core machine under a
 * study's load an admin call can queue behind seconds of work, and failing it would abort the study.
 */
const REQUEST_TIMEOUT_MS = 20_000;
/** Per-attempt timeout of readiness polls, ms (the poll retries until its own deadline). */
const POLL_TIMEOUT_MS = 3000;

/**
 * Polls `GET url` until it answers 200 (readiness, not a sleep). Polls every `intervalMs` (default
 * 20 ms) up to `timeoutMs` (default 20 000 ms); throws `ERR_START_TIMEOUT` naming the last answer.
 */
export async function waitForOk(
  url: string,
  opts: { name: string; timeoutMs?: number; intervalMs?: number; signal?: AbortSignal; headers?: Record<string, string> },
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last = 'no answer';
  for (;;) {
    if (opts.signal?.aborted) throw new PlatformError('ERR_ABORTED', `waiting for ${opts.name} was interrupted`);
    try {
      const res = await fetch(url, { headers: opts.headers, signal: AbortSignal.timeout(POLL_TIMEOUT_MS) });
      const body = await res.text();
      if (res.status === 200) return;
      last = `HTTP ${res.status} ${body.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new PlatformError('ERR_START_TIMEOUT', `${opts.name} did not become ready at ${url} in time (last answer: ${last})`);
    }
    await sleep(opts.intervalMs ?? 20);
  }
}

/** Sends JSON with a bearer token and returns the parsed JSON answer; non-2xx → `ERR_ADMIN_API`. */
export async function sendJson<T>(method: string, url: string, token: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    throw new PlatformError(
      'ERR_ADMIN_API',
      timedOut
        ? `${method} ${url} got no answer within ${REQUEST_TIMEOUT_MS / 1000} s; the machine may be overloaded (other load running?), retry when it is quieter`
        : `${method} ${url} failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const text = await res.text();
  if (!res.ok) throw new PlatformError('ERR_ADMIN_API', `${method} ${url} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : {}) as T;
}
