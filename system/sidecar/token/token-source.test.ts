import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../../test/support/virtual-clock.js';
import { backoffDelayMs, parseRetryAfterMs, TokenFetchError } from './backoff.js';
import { REFRESH_POLICIES } from './refresh-policy.js';
import { createTokenSource, type FetchedToken, type TokenSourceEvent } from './token-source.js';

const TTL = 300_000;

function scriptedIdp(clock: { now(): number }) {
  const calls: number[] = [];
  const failures: TokenFetchError[] = [];
  let n = 0;
  let pendingResolve: (() => void) | null = null;
  let hold = false;
  return {
    calls,
    failWith(...errs: TokenFetchError[]) {
      failures.push(...errs);
    },
    holdNext() {
      hold = true;
    },
    release() {
      pendingResolve?.();
    },
    fetchToken: async (): Promise<FetchedToken> => {
      calls.push(clock.now());
      if (hold) {
        hold = false;
        await new Promise<void>((r) => (pendingResolve = r));
      }
      const err = failures.shift();
      if (err) throw err;
      const iat = clock.now();
      return { accessToken: `tok-${++n}`, issuedAt: iat, expiresAt: iat + TTL };
    },
  };
}

describe('refresh policies', () => {
  const iat = 1_000_000;
  const exp = iat + 100_000;
  it('window refreshes uniformly inside [50%, 90%] of the lifetime', () => {
    expect(REFRESH_POLICIES.window(iat, exp, iat, 0)).toBe(iat + 50_000);
    expect(REFRESH_POLICIES.window(iat, exp, iat, 0.999999)).toBeCloseTo(iat + 90_000, -1);
  });
  it('uniform-now-exp spans now..exp, spire 45%..55%, kubelet exactly 80%', () => {
    expect(REFRESH_POLICIES['uniform-now-exp'](iat, exp, iat + 20_000, 0)).toBe(iat + 20_000);
    expect(REFRESH_POLICIES['uniform-now-exp'](iat, exp, iat + 20_000, 0.5)).toBe(iat + 60_000);
    expect(REFRESH_POLICIES.spire(iat, exp, iat, 0)).toBe(iat + 45_000);
    expect(REFRESH_POLICIES.spire(iat, exp, iat, 1)).toBe(iat + 55_000);
    expect(REFRESH_POLICIES.kubelet(iat, exp, iat, 0.3)).toBe(iat + 80_000);
  });
});

describe('backoff', () => {
  it('grows exponentially with full jitter and caps', () => {
    const e = new TokenFetchError('network', 'x');
    expect(backoffDelayMs(e, 0, 1)).toBe(250);
    expect(backoffDelayMs(e, 3, 1)).toBe(2000);
    expect(backoffDelayMs(e, 3, 0.5)).toBe(1000);
    expect(backoffDelayMs(e, 50, 1)).toBe(30_000);
    expect(backoffDelayMs(new TokenFetchError('client', 'x'), 0, 1)).toBe(30_000);
  });
  it('honours Retry-After (seconds or date) and never retries earlier', () => {
    expect(parseRetryAfterMs('7', 0)).toBe(7000);
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfterMs('soon', 0)).toBeUndefined();
    const e = new TokenFetchError('throttled', 'x', { status: 429, retryAfterMs: 7000 });
    expect(backoffDelayMs(e, 0, 0)).toBe(7000);
    expect(backoffDelayMs(e, 0, 1)).toBeGreaterThanOrEqual(7000);
  });
});

describe('token source', () => {
  it('shares one in-flight fetch among concurrent callers', async () => {
    const clock = createVirtualClock();
    const idp = scriptedIdp(clock);
    const ts = createTokenSource({ fetchToken: idp.fetchToken, clock, random: () => 0.5 });
    const all = await Promise.all(Array.from({ length: 100 }, () => ts.get()));
    expect(new Set(all)).toEqual(new Set(['tok-1']));
    expect(idp.calls).toHaveLength(1);
    ts.stop();
  });

  it('refreshes at the policy time (window, r=0.5 → 70% of TTL) with one timer', async () => {
    const clock = createVirtualClock();
    const t0 = clock.now();
    const idp = scriptedIdp(clock);
    const ts = createTokenSource({ fetchToken: idp.fetchToken, clock, random: () => 0.5 });
    ts.start();
    await clock.advance(0);
    expect(ts.current()?.accessToken).toBe('tok-1');
    expect(ts.nextAttemptAt()).toBe(t0 + 0.7 * TTL);
    expect(clock.pending()).toBe(1);
    await clock.advance(0.7 * TTL - 1);
    expect(idp.calls).toHaveLength(1);
    await clock.advance(1);
    expect(idp.calls).toHaveLength(2);
    expect(ts.current()?.accessToken).toBe('tok-2');
    ts.stop();
    expect(clock.pending()).toBe(0);
  });

  it('backs off with full jitter on network errors and keeps serving the valid token (fail-static)', async () => {
    const clock = createVirtualClock();
    const t0 = clock.now();
    const idp = scriptedIdp(clock);
    const events: TokenSourceEvent[] = [];
    const ts = createTokenSource({
      fetchToken: idp.fetchToken,
      clock,
      random: () => 1 - 1e-9,
      onMetric: (e) => events.push(e),
      policy: 'kubelet',
    });
    ts.start();
    await clock.advance(0);
    idp.failWith(...Array.from({ length: 30 }, () => new TokenFetchError('network', 'ECONNREFUSED')));
    await clock.advance(0.8 * TTL); // refresh attempt fails
    expect(idp.calls).toHaveLength(2);
    await clock.advance(250); // 1st retry ~250 ms later
    expect(idp.calls).toHaveLength(3);
    await clock.advance(499);
    expect(idp.calls).toHaveLength(3);
    await clock.advance(1); // 2nd retry ~500 ms later
    expect(idp.calls).toHaveLength(4);
    expect(await ts.get()).toBe('tok-1'); // still valid: served
    await clock.advance(t0 + TTL - clock.now()); // token expires during outage
    expect(ts.current()).toBeNull();
    await expect(ts.get()).rejects.toMatchObject({ code: 'ERR_NO_TOKEN' });
    expect(events.some((e) => e.type === 'failed' && e.errorClass === 'network')).toBe(true);
    ts.stop();
  });

  it('waits for Retry-After on 429 and backs off long on 4xx', async () => {
    const clock = createVirtualClock();
    const idp = scriptedIdp(clock);
    idp.failWith(new TokenFetchError('throttled', '429', { status: 429, retryAfterMs: 5000 }));
    const ts = createTokenSource({ fetchToken: idp.fetchToken, clock, random: () => 0 });
    ts.start();
    await clock.advance(4999);
    expect(idp.calls).toHaveLength(1);
    await clock.advance(1);
    expect(idp.calls).toHaveLength(2);
    expect(ts.current()).not.toBeNull();
    ts.stop();

    const clock2 = createVirtualClock();
    const idp2 = scriptedIdp(clock2);
    idp2.failWith(new TokenFetchError('client', 'invalid_grant', { status: 400 }));
    const ts2 = createTokenSource({ fetchToken: idp2.fetchToken, clock: clock2, random: () => 0.5 });
    ts2.start();
    await clock2.advance(14_999);
    expect(idp2.calls).toHaveLength(1);
    await expect(ts2.get()).rejects.toMatchObject({ code: 'ERR_NO_TOKEN' }); // fail fast while backing off
    expect(idp2.calls).toHaveLength(1);
    await clock2.advance(1);
    expect(idp2.calls).toHaveLength(2);
    ts2.stop();
  });

  it('forceRefresh drops the token, callers wait for the new one, and a failed refresh falls back', async () => {
    const clock = createVirtualClock();
    const idp = scriptedIdp(clock);
    const ts = createTokenSource({ fetchToken: idp.fetchToken, clock, random: () => 0.5 });
    expect(await ts.get()).toBe('tok-1');
    idp.holdNext();
    const forced = ts.forceRefresh();
    const waiting = ts.get();
    expect(ts.current()).toBeNull();
    idp.release();
    expect(await forced).toBe('tok-2');
    expect(await waiting).toBe('tok-2');
    idp.failWith(new TokenFetchError('server', '500'));
    // The forced refresh says it got no new token; everyone else is served the still-valid one (fail-static).
    idp.holdNext();
    const failing = ts.forceRefresh();
    const during = ts.get();
    idp.release();
    await expect(failing).rejects.toMatchObject({ code: 'ERR_TOKEN_REFRESH_FAILED', message: expect.stringMatching(/: 500\./) });
    expect(await during).toBe('tok-2');
    expect(ts.current()?.accessToken).toBe('tok-2');
    ts.stop();
  });

  it('is cheap: 10,000 sources hold one timer each', async () => {
    const clock = createVirtualClock();
    const idp = scriptedIdp(clock);
    const sources = Array.from({ length: 10_000 }, () => createTokenSource({ fetchToken: idp.fetchToken, clock }));
    for (const s of sources) s.start();
    await clock.advance(0);
    expect(clock.pending()).toBe(10_000);
    expect(sources.every((s) => s.current() !== null)).toBe(true);
    for (const s of sources) s.stop();
    expect(clock.pending()).toBe(0);
  });
});
