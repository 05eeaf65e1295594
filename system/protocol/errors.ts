/**
 * The one catalogue of stable error codes, for every part of authlab (no I/O here).
 *
 * Each code records what it means where it surfaces:
 * - `status`: the HTTP status when the code is an HTTP error. Sidecar and admin bodies carry it as
 *   `{"error": {"code": "<code>", "message": "<what and how to fix>"}}`.
 * - `oauth`: the RFC 6749/8693 error of the token endpoint, which answers
 *   `{"error": "<oauth>", "error_description": "<message>"}` instead.
 * - `exit`: the CLI's exit code when the code ends an `authlab` command: 2 when the user must change
 *   something (a flag, a busy port, a missing binary, a bad file), 1 for a failure. A code without
 *   `exit` (an HTTP code that reached the CLI, a bug) exits 1.
 */
export const ERROR_CATALOGUE = {
  // sidecar, authentication (401 in enforce mode)
  ERR_TOKEN_MISSING: { status: 401 },
  ERR_TOKEN_MALFORMED: { status: 401 },
  ERR_TOKEN_ALG: { status: 401 },
  ERR_TOKEN_SIGNATURE: { status: 401 },
  ERR_TOKEN_UNKNOWN_KID: { status: 401 },
  ERR_TOKEN_EXPIRED: { status: 401 },
  ERR_TOKEN_NOT_YET_VALID: { status: 401 },
  ERR_TOKEN_ISSUER: { status: 401 },
  ERR_TOKEN_AUDIENCE: { status: 401 },
  ERR_TOKEN_REVOKED: { status: 401 },
  /** exp − iat (or exp − now) beyond the IdP's token TTL plus skew. */
  ERR_TOKEN_LIFETIME: { status: 401 },
  /** More than one Authorization header (RFC 6750 §3.1 invalid_request). */
  ERR_TOKEN_AMBIGUOUS: { status: 400 },
  // sidecar, authorization
  ERR_FORBIDDEN: { status: 403 },
  // request validation
  ERR_BAD_REQUEST: { status: 400 },
  ERR_BODY_NOT_JSON: { status: 400 },
  ERR_UNKNOWN_QUERY: { status: 400 },
  ERR_BAD_PARAMS: { status: 400 },
  ERR_HEADER_TOO_LARGE: { status: 431 },
  ERR_URL_TOO_LONG: { status: 414 },
  ERR_BODY_TOO_LARGE: { status: 413 },
  ERR_NOT_FOUND: { status: 404 },
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415 },
  // outbound / dependencies
  ERR_UNKNOWN_TARGET: { status: 404 },
  ERR_NO_TOKEN: { status: 503 },
  ERR_UPSTREAM_UNREACHABLE: { status: 502 },
  ERR_IDP_UNREACHABLE: { status: 503 },
  /** A forced refresh (`POST /local/refresh-token`) got no new token; the sidecar still holds its current one. */
  ERR_TOKEN_REFRESH_FAILED: { status: 502 },
  ERR_DB_UNAVAILABLE: { status: 503 },
  /** The database refused a query the sidecar had validated: a sidecar bug, never the client's input. */
  ERR_DB_QUERY: { status: 500 },
  // admin API
  ERR_ADMIN_UNAUTHORIZED: { status: 401 },
  ERR_CONFLICT: { status: 409 },
  ERR_INTERNAL: { status: 500 },

  // IdP token endpoint (RFC 6749 §5.2 / RFC 8693 §2.2.2 on the wire)
  ERR_OAUTH_INVALID_REQUEST: { status: 400, oauth: 'invalid_request' },
  ERR_OAUTH_BODY_TOO_LARGE: { status: 413, oauth: 'invalid_request' },
  ERR_OAUTH_INVALID_GRANT: { status: 400, oauth: 'invalid_grant' },
  ERR_OAUTH_INVALID_TARGET: { status: 400, oauth: 'invalid_target' },
  ERR_OAUTH_UNSUPPORTED_GRANT_TYPE: { status: 400, oauth: 'unsupported_grant_type' },
  ERR_OAUTH_TEMPORARILY_UNAVAILABLE: { status: 503, oauth: 'temporarily_unavailable' },
  ERR_OAUTH_SERVER_ERROR: { status: 500, oauth: 'server_error' },

  // sidecar token source: one failed exchange with the IdP (never on the wire; retried with backoff)
  ERR_TOKEN_FETCH: {},

  // CLI and runner
  ERR_USAGE: { exit: 2 },
  ERR_ENGINE_UNAVAILABLE: { exit: 2 },
  /** The autocannon engine's load process (runner/engines/load-process.ts) exited or failed a run. */
  ERR_LOAD_PROCESS: { exit: 1 },
  /** `--observe` without Debian's `prometheus` on PATH. */
  ERR_PROMETHEUS_MISSING: { exit: 2 },
  /** Prometheus started but did not become ready, or exited. */
  ERR_PROMETHEUS_FAILED: { exit: 1 },
  /** A push of the runner's live series to the in-cluster Prometheus (remote write, kind) failed: logged once, never fatal. */
  ERR_REMOTE_WRITE: {},
  ERR_SCENARIO_UNKNOWN: { exit: 2 },
  ERR_SCENARIO_INVALID: { exit: 2 },
  ERR_SCENARIO_DUPLICATE: { exit: 2 },
  ERR_SCENARIO_ENGINE: { exit: 2 },
  /** A fault scenario on a platform that cannot inject faults (only local can). */
  ERR_SCENARIO_PLATFORM: { exit: 2 },
  // local platform
  ERR_PORT_BUSY: { exit: 2 },
  ERR_COMPONENT_MISSING: { exit: 2 },
  ERR_COMPONENT_EXITED: { exit: 1 },
  ERR_START_TIMEOUT: { exit: 1 },
  ERR_POSTGRES: { exit: 1 },
  /** redis-server (heavy-cached) failed to start. */
  ERR_REDIS: { exit: 1 },
  /** As root, the `postgres` user cannot enter a directory PostgreSQL needs (the user fixes the permissions). */
  ERR_POSTGRES_ACCESS: { exit: 2 },
  ERR_ADMIN_API: { exit: 1 },
  ERR_ABORTED: { exit: 1 },
  // kube platform (`authlab cluster`; ERR_PORT_BUSY, ERR_COMPONENT_EXITED, ERR_START_TIMEOUT and ERR_ABORTED above)
  ERR_NOT_ROOT: { exit: 2 },
  ERR_TOOL_MISSING: { exit: 2 },
  /** A cluster left behind by a killed `authlab cluster up`: `authlab cluster down` removes it. */
  ERR_STALE_CLUSTER: { exit: 2 },
  ERR_ALREADY_UP: { exit: 2 },
  /** The pinned Kubernetes binaries are not built yet: `authlab cluster build`. */
  ERR_NOT_BUILT: { exit: 2 },
  ERR_BUILD_FAILED: { exit: 1 },
  ERR_COMMAND_FAILED: { exit: 1 },
  // reports: the input file is the user's to fix
  ERR_RESULTS_NOT_FOUND: { exit: 2 },
  ERR_RESULTS_NOT_JSON: { exit: 2 },
  ERR_RESULTS_SCHEMA: { exit: 2 },
  ERR_HDR_DECODE: { exit: 2 },
} as const satisfies Record<`ERR_${string}`, CodeSpec>;

/** What the catalogue records per code. */
export interface CodeSpec {
  /** HTTP status, when the code is an HTTP error. */
  readonly status?: number;
  /** Token endpoint error, when the code is one. */
  readonly oauth?: OAuthErrorCode;
  /** `authlab` exit code: 2 usage (the user must change something), 1 failure. */
  readonly exit?: ExitCode;
}

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

type Catalogue = typeof ERROR_CATALOGUE;
/** Codes the token endpoint answers with. */
export type OAuthCode = { [C in ErrorCode]: Catalogue[C] extends { oauth: string } ? C : never }[ErrorCode];

/** Exit codes of `authlab` (documented in `--help`). */
export const EXIT = {
  ok: 0,
  /** A failure: a component fault, a bug, or (compare) a significant regression. */
  failure: 1,
  /** The user must change something: bad flags, busy port, missing k6, `up` already running. */
  usage: 2,
  /** Interrupted by Ctrl-C / SIGTERM (128 + SIGINT). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)['failure' | 'usage'];

function spec(code: ErrorCode): CodeSpec {
  return ERROR_CATALOGUE[code];
}

/** HTTP status of `code`; 500 for a code that is not an HTTP error (it reached a handler by mistake). */
export function httpStatus(code: ErrorCode): number {
  return spec(code).status ?? 500;
}

/** The CLI exit code for any thrown value: the catalogue's `exit` for an {@link AuthlabError}, else 1. */
export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof AuthlabError ? err.exitCode : EXIT.failure;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/**
 * The base of every authlab error: a stable `code` from {@link ERROR_CATALOGUE} (branch on it, never
 * on the message or the class) and a message that says what failed and what to do. Wrap causes with
 * `{ cause }`. Subclasses only add context (`UsageError`, `ReportError`, `PlatformError`, ...); the
 * HTTP status and the exit code always come from the code.
 */
export class AuthlabError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthlabError';
    this.code = code;
  }
  /** HTTP status of the code (500 when it is not an HTTP error). */
  get status(): number {
    return httpStatus(this.code);
  }
  /** `authlab` exit code: 2 when the user must change something, else 1. */
  get exitCode(): ExitCode {
    return spec(this.code).exit ?? EXIT.failure;
  }
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** An error the user fixes by changing the command line; the CLI prints the sentence and exits 2. */
export class UsageError extends AuthlabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
    this.name = 'UsageError';
  }
}

/** RFC 6749 §5.2 / RFC 8693 §2.2.2 error codes of the token endpoint. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable'
  | 'server_error';

export interface OAuthErrorBody {
  error: OAuthErrorCode;
  error_description: string;
}

/** The token endpoint's body for an {@link OAuthCode}. */
export function oauthBody(code: OAuthCode, description: string): OAuthErrorBody {
  return { error: ERROR_CATALOGUE[code].oauth, error_description: description };
}
