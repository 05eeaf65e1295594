import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT } from '../../system/protocol/errors.js';
import type { CliIo } from './io.js';
import { describeRecovery, recoverStaleUp } from './recover.js';
import { isAlive, isAuthlabProcess, readState, releaseUpState, runsDir, upPaths } from './state.js';

/**
 * `authlab down`: SIGTERMs the process recorded in `runs/up/state.json` and waits until it is gone
 * (it tears down its own children first). Waits up to `timeoutMs` (default 30 000 ms).
 */
export async function downCommand(io: CliIo, timeoutMs = 30_000): Promise<number> {
  const runs = runsDir();
  const paths = upPaths(runs);
  const state = await readState(paths.state);
  if (!state) {
    io.out('authlab up is not running (no runs/up/state.json); nothing to stop');
    return EXIT.ok;
  }
  if (!(await isAuthlabProcess(state.pid))) {
    // Killed without teardown (SIGKILL, a crash): stop what it left running, then forget it.
    const recovery = await recoverStaleUp(state);
    await releaseUpState(runs, state.pid);
    io.out(describeRecovery(state, recovery));
    return EXIT.ok;
  }
  const t0 = performance.now();
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(state.pid)) {
    if (Date.now() > deadline) {
      io.err(
        `authlab up (pid ${state.pid}) did not stop within ${timeoutMs / 1000} s; look at its terminal, or end it with \`kill ${state.pid}\``,
      );
      return EXIT.failure;
    }
    await sleep(50);
  }
  io.out(`stopped authlab up (pid ${state.pid}) in ${Math.round(performance.now() - t0)} ms`);
  return EXIT.ok;
}
