/** Exit codes of `authlab` (documented in `--help`). */
export const EXIT = {
  ok: 0,
  /** A study/compare finding (compare: a significant regression) or a component fault. */
  failure: 1,
  /** The user must change something: bad flags, busy port, missing k6, `up` already running. */
  usage: 2,
  /** Interrupted by Ctrl-C / SIGTERM (128 + SIGINT). */
  interrupted: 130,
} as const;

/**
 * An error the user can fix; the CLI prints its one-sentence message and exits with code 2.
 * Messages say what was wrong and what to do instead.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
