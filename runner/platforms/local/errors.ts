import { AuthlabError } from '../../../system/protocol/errors.js';

/**
 * Codes of the local platform's failures (all in the one catalogue, system/protocol/errors.ts, which
 * says which are the user's to fix: a busy port or a missing component exits 2, a fault exits 1).
 */
export type PlatformErrorCode =
  | 'ERR_PORT_BUSY'
  | 'ERR_COMPONENT_MISSING'
  | 'ERR_COMPONENT_EXITED'
  | 'ERR_START_TIMEOUT'
  | 'ERR_POSTGRES'
  | 'ERR_POSTGRES_ACCESS'
  | 'ERR_REDIS'
  | 'ERR_TOOL_MISSING'
  | 'ERR_ADMIN_API'
  | 'ERR_ABORTED';

/** An error of the local platform; its message says what failed and what to do. */
export class PlatformError extends AuthlabError {
  declare readonly code: PlatformErrorCode;
  constructor(code: PlatformErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PlatformError';
  }
}
