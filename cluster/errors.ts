/**
 * Stable codes for failures of `authlab cluster`. `userFixable` ones (no root, a missing tool, a busy
 * port, a stale cluster) print one sentence and exit 2; the rest are faults (exit 1).
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

const USER_FIXABLE: ReadonlySet<ClusterErrorCode> = new Set([
  'ERR_NOT_ROOT',
  'ERR_TOOL_MISSING',
  'ERR_PORT_BUSY',
  'ERR_STALE_CLUSTER',
  'ERR_ALREADY_UP',
  'ERR_NOT_BUILT',
]);

/** A failure of the cluster tooling; the message says what failed and what to do. */
export class ClusterError extends Error {
  readonly code: ClusterErrorCode;
  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClusterError';
    this.code = code;
  }
  /** True when the user can fix it (CLI exit code 2). */
  get userFixable(): boolean {
    return USER_FIXABLE.has(this.code);
  }
}
