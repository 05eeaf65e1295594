/**
 * The one catalogue of stable error codes. HTTP bodies carry them as
 * `{"error": {"code": "<code>", "message": "<what and how to fix>"}}` (sidecar, admin API);
 * the token endpoint uses RFC 6749/8693 `{"error", "error_description"}` instead.
 */
export const ERROR_CODES = {
  // sidecar, authentication (401 in enforce mode)
  ERR_TOKEN_MISSING: 401,
  ERR_TOKEN_MALFORMED: 401,
  ERR_TOKEN_ALG: 401,
  ERR_TOKEN_SIGNATURE: 401,
  ERR_TOKEN_UNKNOWN_KID: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_TOKEN_NOT_YET_VALID: 401,
  ERR_TOKEN_ISSUER: 401,
  ERR_TOKEN_AUDIENCE: 401,
  ERR_TOKEN_REVOKED: 401,
  // sidecar, authorization
  ERR_FORBIDDEN: 403,
  // request validation
  ERR_BAD_REQUEST: 400,
  ERR_BODY_NOT_JSON: 400,
  ERR_UNKNOWN_QUERY: 400,
  ERR_BAD_PARAMS: 400,
  ERR_HEADER_TOO_LARGE: 431,
  ERR_BODY_TOO_LARGE: 413,
  ERR_NOT_FOUND: 404,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  // outbound / dependencies
  ERR_UNKNOWN_TARGET: 404,
  ERR_NO_TOKEN: 503,
  ERR_UPSTREAM_UNREACHABLE: 502,
  ERR_IDP_UNREACHABLE: 503,
  ERR_DB_UNAVAILABLE: 503,
  // admin API
  ERR_ADMIN_UNAUTHORIZED: 401,
  ERR_CONFLICT: 409,
  ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** An error with a stable `code` and the HTTP status it maps to. Wrap causes with `{ cause }`. */
export class AuthlabError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthlabError';
    this.code = code;
    this.status = ERROR_CODES[code];
  }
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
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
