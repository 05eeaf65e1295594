import { AuthlabError } from '../system/protocol/errors.js';

/**
 * Codes of `authlab cluster`'s failures (all in the one catalogue, system/protocol/errors.ts, which
 * says which are the user's to fix: no root, a missing tool, a busy port, a stale or running cluster,
 * unbuilt binaries exit 2; a fault exits 1).
 */
export type ClusterErrorCode =
  | 'ERR_NOT_ROOT'
  | 'ERR_TOOL_MISSING'
  | 'ERR_PORT_BUSY'
  | 'ERR_STALE_CLUSTER'
  | 'ERR_ALREADY_UP'
  | 'ERR_NOT_BUILT'
  | 'ERR_BUILD_FAILED'
  | 'ERR_COMPONENT_EXITED'
  | 'ERR_START_TIMEOUT'
  | 'ERR_COMMAND_FAILED'
  | 'ERR_ABORTED';

/** A failure of the cluster tooling; the message says what failed and what to do. */
export class ClusterError extends AuthlabError {
  declare readonly code: ClusterErrorCode;
  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ClusterError';
  }
}
