import { performance } from 'node:perf_hooks';

/**
 * Calibration test hook (off by default): `AUTHLAB_CALIBRATE_US=<µs>` in a sidecar's environment makes
 * every inbound request verified in `enforce` mode busy-wait that long inside the verify stage, so a
 * study (`authlab study --calibrate <µs>`) can check that its estimators recover a known cost. Read
 * once at start-up; unset, empty, 0 or not a number = no wait, and the call below is one comparison.
 * A busy-wait (not a timer) because auth's real cost is CPU on the request path.
 */
const CALIBRATE_MS = (() => {
  const us = Number(process.env.AUTHLAB_CALIBRATE_US ?? '');
  return Number.isFinite(us) && us > 0 && us <= 1_000_000 ? us / 1000 : 0;
})();

/** Busy-waits the configured calibration time when `verifyMode` is `enforce`; otherwise returns at once. */
export function calibrationWait(verifyMode: string): void {
  if (CALIBRATE_MS === 0 || verifyMode !== 'enforce') return;
  const end = performance.now() + CALIBRATE_MS;
  while (performance.now() < end) {
    // spin: the point is to cost CPU time on the request path, like real verification
  }
}
