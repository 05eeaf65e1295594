/** Stable codes of everything `reports/` can reject; the CLI prints the message and exits 2. */
export type ReportErrorCode =
  | 'ERR_RESULTS_NOT_FOUND'
  | 'ERR_RESULTS_NOT_JSON'
  | 'ERR_RESULTS_SCHEMA'
  | 'ERR_HDR_DECODE'
  | 'ERR_USAGE';

/** An error a user can act on: `message` is one sentence saying what is wrong and what to do. */
export class ReportError extends Error {
  readonly code: ReportErrorCode;
  constructor(code: ReportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReportError';
    this.code = code;
  }
}
