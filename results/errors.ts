import { AuthlabError } from '../system/protocol/errors.js';

/** Codes of everything `reports/` can reject (all in the one catalogue, system/protocol/errors.ts). */
export type ReportErrorCode = 'ERR_RESULTS_NOT_FOUND' | 'ERR_RESULTS_NOT_JSON' | 'ERR_RESULTS_SCHEMA' | 'ERR_HDR_DECODE';

/** A results file `reports/` cannot use: `message` is one sentence saying what is wrong and what to do. */
export class ReportError extends AuthlabError {
  declare readonly code: ReportErrorCode;
  constructor(code: ReportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ReportError';
  }
}
