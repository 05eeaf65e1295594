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
