import { describe, expect, it } from 'vitest';
import { ReportError } from '../results/errors.js';
import { PlatformError } from '../runner/platforms/local/errors.js';
import { SubjectTokenError } from '../system/idp/subject-errors.js';
import { AuthlabError, ERROR_CATALOGUE, exitCodeOf, httpStatus, oauthBody, UsageError, type ErrorCode } from '../system/protocol/errors.js';
import { TokenFetchError } from '../system/sidecar/token/backoff.js';

describe('the error catalogue', () => {
  it('gives every family one base, a stable code and the exit code the CLI uses', () => {
    const cases: [AuthlabError, ErrorCode, number][] = [
      [new UsageError('`--rate` must be a positive integer'), 'ERR_USAGE', 2],
      [new AuthlabError('ERR_SCENARIO_DUPLICATE', 'two scenarios named light'), 'ERR_SCENARIO_DUPLICATE', 2],
      [new AuthlabError('ERR_ENGINE_UNAVAILABLE', 'no k6'), 'ERR_ENGINE_UNAVAILABLE', 2],
      [new ReportError('ERR_RESULTS_SCHEMA', 'bad results'), 'ERR_RESULTS_SCHEMA', 2],
      [new PlatformError('ERR_PORT_BUSY', 'port busy'), 'ERR_PORT_BUSY', 2],
      [new PlatformError('ERR_COMPONENT_EXITED', 'idp exited'), 'ERR_COMPONENT_EXITED', 1],
      [new TokenFetchError('network', 'ECONNREFUSED'), 'ERR_TOKEN_FETCH', 1],
      [new SubjectTokenError('invalid_grant', 'expired', 'subject_token has expired'), 'ERR_OAUTH_INVALID_GRANT', 1],
      // An HTTP code that reaches the CLI is a failure, not a usage error.
      [new AuthlabError('ERR_BAD_REQUEST', 'bad body'), 'ERR_BAD_REQUEST', 1],
    ];
    for (const [err, code, exit] of cases) {
      expect(err).toBeInstanceOf(AuthlabError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect([err.name, err.exitCode, exitCodeOf(err)]).toEqual([err.name, exit, exit]);
    }
  });

  it('maps an error outside the catalogue (a bug) to exit 1', () => {
    expect(exitCodeOf(new TypeError('x is undefined'))).toBe(1);
    expect(exitCodeOf('a thrown string')).toBe(1);
  });

  it('keeps the HTTP statuses of the wire contract, and 500 for a code that is not an HTTP error', () => {
    expect(httpStatus('ERR_TOKEN_EXPIRED')).toBe(401);
    expect(httpStatus('ERR_FORBIDDEN')).toBe(403);
    expect(httpStatus('ERR_HEADER_TOO_LARGE')).toBe(431);
    expect(httpStatus('ERR_NO_TOKEN')).toBe(503);
    expect(new AuthlabError('ERR_CONFLICT', 'x').toBody()).toEqual({ error: { code: 'ERR_CONFLICT', message: 'x' } });
    expect(httpStatus('ERR_USAGE')).toBe(500);
    expect(new SubjectTokenError('temporarily_unavailable', 'jwks_unavailable', 'retry').status).toBe(503);
    expect(oauthBody('ERR_OAUTH_INVALID_TARGET', 'no role')).toEqual({ error: 'invalid_target', error_description: 'no role' });
  });

  it('says, for every code, where it surfaces: an HTTP status, a CLI exit code, or neither only for the retried/logged ones', () => {
    // ERR_TOKEN_FETCH is retried with backoff, ERR_REMOTE_WRITE logged once (runner/live/remote-write.ts): neither is thrown.
    const neither = Object.entries(ERROR_CATALOGUE)
      .filter(([, s]) => !('status' in s) && !('exit' in s))
      .map(([c]) => c);
    expect(neither).toEqual(['ERR_TOKEN_FETCH', 'ERR_REMOTE_WRITE']);
  });
});
