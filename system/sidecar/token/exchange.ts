import { readFile } from 'node:fs/promises';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../protocol/claims.js';
import { classifyStatus, parseRetryAfterMs, TokenFetchError } from './backoff.js';
import type { FetchedToken } from './token-source.js';

/** The subset of WHATWG fetch the exchange needs (global fetch, undici's fetch or a test double). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; dispatcher?: Dispatcher; signal?: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface ExchangeFetchOptions {
  /** The IdP's `token_endpoint` (from discovery). */
  tokenEndpoint: string;
  /** Returns the current SA token; called on every exchange because the kubelet rewrites the file. */
  getSubjectToken: () => string | Promise<string>;
  /** Default undici's fetch. */
  fetch?: FetchLike;
  /** Pooled keep-alive connections to the IdP (recommended when many sources share one process). */
  dispatcher?: Dispatcher;
  /** Optional RFC 8693 `audience` values to narrow the token. */
  audience?: string[];
  /** Abort an exchange after this long, ms. Default 10 s. */
  timeoutMs?: number;
  now?: () => number;
}

/** Reads an SA token file fresh each call (the kubelet / identity issuer rewrites it at 80% of its TTL). */
export function saTokenFileReader(path: string): () => Promise<string> {
  return async () => (await readFile(path, 'utf8')).trim();
}

/**
 * Builds the `fetchToken` of a token source: one RFC 8693 token exchange of the SA token at the
 * IdP's token endpoint. Errors are {@link TokenFetchError}s classified for backoff.
 */
export function createExchangeFetch(options: ExchangeFetchOptions): () => Promise<FetchedToken> {
  const doFetch: FetchLike = options.fetch ?? (undiciFetch as unknown as FetchLike);
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async () => {
    let subject: string;
    try {
      subject = await options.getSubjectToken();
    } catch (err) {
      // A missing SA token file is a deployment problem, not an IdP one: back off like a 4xx.
      throw new TokenFetchError('client', `cannot read the service-account token: ${(err as Error).message}`, { cause: err });
    }
    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subject,
      subject_token_type: JWT_TOKEN_TYPE,
    });
    for (const aud of options.audience ?? []) form.append('audience', aud);
    let res: Awaited<ReturnType<FetchLike>>;
    let text: string;
    try {
      res = await doFetch(options.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      text = await res.text();
    } catch (err) {
      throw new TokenFetchError('network', `token endpoint ${options.tokenEndpoint} unreachable: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (res.status !== 200) {
      let detail = text.slice(0, 200);
      try {
        const body = JSON.parse(text) as { error?: string; error_description?: string };
        if (body.error) detail = `${body.error}: ${body.error_description ?? ''}`;
      } catch {
        // not JSON: keep the raw excerpt
      }
      const retryAfterMs = parseRetryAfterMs(res.headers.get('retry-after'), now());
      throw new TokenFetchError(classifyStatus(res.status), `token exchange failed with ${res.status} (${detail})`, {
        status: res.status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    return parseTokenResponse(text, now());
  };
}

/** Parses a token endpoint 200 body; `iat`/`exp` come from the JWT itself when present, else `expires_in`. */
export function parseTokenResponse(text: string, nowMs: number): FetchedToken {
  let body: { access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch (err) {
    throw new TokenFetchError('server', 'token endpoint returned a body that is not JSON', { cause: err });
  }
  if (typeof body.access_token !== 'string' || body.access_token.length === 0) {
    throw new TokenFetchError('server', 'token endpoint response has no access_token');
  }
  const claims = decodeJwtTimes(body.access_token);
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined;
  const issuedAt = claims.iat !== undefined ? claims.iat * 1000 : nowMs;
  const expiresAt = claims.exp !== undefined ? claims.exp * 1000 : expiresIn !== undefined ? nowMs + expiresIn * 1000 : undefined;
  if (expiresAt === undefined) throw new TokenFetchError('server', 'access token has neither exp nor expires_in');
  return { accessToken: body.access_token, issuedAt, expiresAt };
}

function decodeJwtTimes(jwt: string): { iat?: number; exp?: number } {
  const payload = jwt.split('.')[1];
  if (!payload) return {};
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iat?: unknown; exp?: unknown };
    return {
      ...(typeof claims.iat === 'number' ? { iat: claims.iat } : {}),
      ...(typeof claims.exp === 'number' ? { exp: claims.exp } : {}),
    };
  } catch {
    return {};
  }
}
