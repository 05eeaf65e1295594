/**
 * Stable codes for failures of the local platform. `userFixable` failures (a busy port, a bad option)
 * are the user's to fix and map to CLI exit code 2; the rest are faults of a component.
 */
export type PlatformErrorCode =
  | 'ERR_PORT_BUSY'
  | 'ERR_COMPONENT_MISSING'
  | 'ERR_COMPONENT_EXITED'
  | 'ERR_START_TIMEOUT'
  | 'ERR_POSTGRES'
  | 'ERR_ADMIN_API'
  | 'ERR_ABORTED';

const USER_FIXABLE: ReadonlySet<PlatformErrorCode> = new Set(['ERR_PORT_BUSY', 'ERR_COMPONENT_MISSING']);

/** An error of the local platform; its message says what failed and what to do. */
export class PlatformError extends Error {
  readonly code: PlatformErrorCode;
  constructor(code: PlatformErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PlatformError';
    this.code = code;
  }
  /** True when the user can fix it (CLI exit code 2). */
  get userFixable(): boolean {
    return USER_FIXABLE.has(this.code);
  }
}
