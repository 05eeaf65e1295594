/** Token lifetimes as the live status shows them: pure functions of timestamps (ms), no DOM. */

/** A token is flagged "expires soon" once less than this share of its lifetime is left. */
export const EXPIRING_SHARE = 0.1;

export type TokenState = 'valid' | 'expiring' | 'expired';

/** Where a token issued at `issuedAtMs`, expiring at `expiresAtMs`, stands at `nowMs`. */
export function tokenState(issuedAtMs: number, expiresAtMs: number, nowMs: number): { state: TokenState; remainingMs: number } {
  const remainingMs = expiresAtMs - nowMs;
  const ttlMs = Math.max(0, expiresAtMs - issuedAtMs);
  const state = remainingMs <= 0 ? 'expired' : remainingMs < ttlMs * EXPIRING_SHARE ? 'expiring' : 'valid';
  return { state, remainingMs };
}

/** `3 min 05 s`, `42 s`, `2 h 10 min`: a duration in ms, rounded down to the second. */
export function duration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** `in 4 min 10 s` for a time ahead of `nowMs`, `12 s ago` for one behind it. */
export function relative(atMs: number, nowMs: number): string {
  const d = atMs - nowMs;
  return d >= 0 ? `in ${duration(d)}` : `${duration(d)} ago`;
}
