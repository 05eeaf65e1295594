import { TokenError } from 'fast-jwt';
import { AuthlabError } from '../protocol/errors.js';

const CODE_OF = {
  invalid_request: 'ERR_OAUTH_INVALID_REQUEST',
  invalid_grant: 'ERR_OAUTH_INVALID_GRANT',
  temporarily_unavailable: 'ERR_OAUTH_TEMPORARILY_UNAVAILABLE',
} as const;

/** Why a subject token was refused; `oauthError` (and `code`) is what the token endpoint answers. */
export class SubjectTokenError extends AuthlabError {
  declare readonly code: (typeof CODE_OF)[keyof typeof CODE_OF];
  /** `temporarily_unavailable` (503) when the issuer's JWKS cannot be fetched: the caller should retry. */
  readonly oauthError: keyof typeof CODE_OF;
  /** Short machine reason (`expired`, `untrusted_issuer`, ...), for logs and tests. */
  readonly reason: string;
  constructor(oauthError: SubjectTokenError['oauthError'], reason: string, message: string, options?: { cause?: unknown }) {
    super(CODE_OF[oauthError], message, options);
    this.name = 'SubjectTokenError';
    this.oauthError = oauthError;
    this.reason = reason;
  }
}

/** fast-jwt's verification errors → the reasons and messages the token endpoint answers with. */
export function mapTokenError(err: unknown, audience: string): SubjectTokenError {
  const code = err instanceof TokenError ? err.code : '';
  const msg = (err as Error)?.message ?? String(err);
  switch (code) {
    case TokenError.codes.expired:
      return new SubjectTokenError('invalid_grant', 'expired', 'subject_token has expired: read the refreshed token file and retry', {
        cause: err,
      });
    case TokenError.codes.inactive:
      return new SubjectTokenError(
        'invalid_grant',
        'not_yet_valid',
        'subject_token is not valid yet (nbf in the future): check the clocks',
        { cause: err },
      );
    case TokenError.codes.invalidSignature:
      return new SubjectTokenError('invalid_grant', 'invalid_signature', 'subject_token signature does not verify against its issuer key', {
        cause: err,
      });
    case TokenError.codes.invalidAlgorithm:
      return new SubjectTokenError('invalid_grant', 'bad_alg', `subject_token algorithm is not allowed: ${msg}`, { cause: err });
    case TokenError.codes.invalidClaimValue:
      if (/aud/.test(msg)) {
        return new SubjectTokenError(
          'invalid_grant',
          'wrong_audience',
          `subject_token audience must contain ${JSON.stringify(audience)}: mount a projected token with that audience`,
          { cause: err },
        );
      }
      return new SubjectTokenError('invalid_grant', 'bad_claim', `subject_token has an invalid claim: ${msg}`, { cause: err });
    case TokenError.codes.missingRequiredClaim:
      return new SubjectTokenError('invalid_grant', 'bad_claim', `subject_token lacks a required claim: ${msg}`, { cause: err });
    default:
      return new SubjectTokenError('invalid_grant', 'malformed', `subject_token is invalid: ${msg}`, { cause: err });
  }
}
