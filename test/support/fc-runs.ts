/**
 * fast-check's `interruptAfterTimeLimit` abandons the run in progress when the time is up (it races
 * the predicate against a timer), and whatever requests that run made go on in the background: a heavy
 * query finishing a second later lands in the next test's counts. `tracked` keeps every run of a
 * predicate; `settled()`, awaited after `fc.assert`, returns once the last of them has ended.
 */
export function tracked<A extends unknown[], R>(
  predicate: (...args: A) => Promise<R>,
): { predicate: (...args: A) => Promise<R>; settled: () => Promise<void> } {
  const running = new Set<Promise<R>>();
  return {
    predicate: (...args: A) => {
      const run = predicate(...args);
      running.add(run);
      run.then(
        () => running.delete(run),
        () => running.delete(run),
      );
      return run;
    },
    settled: async () => {
      await Promise.allSettled([...running]);
    },
  };
}
