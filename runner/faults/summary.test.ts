import { describe, expect, it } from 'vitest';
import { summariseFault } from './summary.js';
import type { LoggedRequest } from './driver.js';

const req = (tMs: number, status: number, code?: string): LoggedRequest => ({ tMs, status, latencyUs: 1000, ...(code ? { code } : {}) });

describe('summariseFault', () => {
  it('splits requests into before, during and after the fault and counts failures by status', () => {
    const log = [req(0, 200), req(100, 503, 'ERR_DB_UNAVAILABLE'), req(200, 0, 'timeout'), req(300, 200)];
    const s = summariseFault(log, { fault: 'x', startMs: 100, endMs: 250 }, { kind: 'no-failures' });
    expect(s.phases.before).toEqual({ sent: 1, ok: 1, failed: {} });
    expect(s.phases.during).toEqual({ sent: 2, ok: 0, failed: { '503': 1, timeout: 1 } });
    expect(s.phases.after).toEqual({ sent: 1, ok: 1, failed: {} });
    expect(s.targets[0]!.met).toBe(false);
  });

  it('counts a request in flight when the fault began as during, not as a failure of the baseline', () => {
    const inFlight: LoggedRequest = { tMs: 99.6, status: 503, latencyUs: 24_500, code: 'ERR_DB_UNAVAILABLE' };
    const done: LoggedRequest = { tMs: 99.2, status: 200, latencyUs: 700 };
    const s = summariseFault(
      [req(0, 200), done, inFlight, req(300, 200)],
      { fault: 'x', startMs: 100, endMs: 250 },
      { kind: 'no-failures' },
    );
    expect(s.phases.before).toEqual({ sent: 2, ok: 2, failed: {} });
    expect(s.phases.during).toEqual({ sent: 1, ok: 0, failed: { '503': 1 } });
    expect(s.phases.after).toEqual({ sent: 1, ok: 1, failed: {} });
  });

  it('measures recovery from the database accepting connections, and misses a late or foreign failure', () => {
    const log = [req(0, 200), req(1000, 503), req(4500, 503), req(5000, 200)];
    const w = { fault: 'x', startMs: 500, endMs: 2000, dbAcceptingMs: 2000 };
    const s = summariseFault(log, w, { kind: 'fail-only-then-recover', statuses: [503], withinMs: 2000 });
    expect(s.timeToRecoverMs).toBe(2501);
    expect(s.targets.map((t) => t.met)).toEqual([true, false]);
    const foreign = summariseFault([req(1000, 500), req(3000, 200)], w, {
      kind: 'fail-only-then-recover',
      statuses: [503],
      withinMs: 2000,
    });
    expect(foreign.targets[0]!.met).toBe(false);
  });

  it('says recovery was never seen when the run ends on a failure, and notices a lapsed token', () => {
    const s = summariseFault(
      [req(0, 200), req(3000, 401, 'ERR_TOKEN_EXPIRED')],
      { fault: 'x', startMs: 1000, endMs: 2000 },
      { kind: 'no-failures' },
    );
    expect(s.timeToRecoverMs).toBeNull();
    expect(s.tokenLapsed).toBe(true);
  });

  it('names what the connection did when no response came', () => {
    const refused = (tMs: number): LoggedRequest => ({ ...req(tMs, 0, 'network'), cause: 'ECONNREFUSED' });
    const log = [req(0, 200), refused(100), refused(200), { ...req(300, 0, 'network'), cause: 'UND_ERR_SOCKET' }, req(400, 503)];
    const s = summariseFault(
      log,
      { fault: 'x', startMs: 250, endMs: 450, dbAcceptingMs: 450 },
      {
        kind: 'fail-only-then-recover',
        statuses: [503],
        withinMs: 2000,
      },
    );
    expect(s.phases.before.failed).toEqual({ network: 2 });
    expect(s.targets[0]).toMatchObject({
      met: false,
      measured: '4 failed (1 × 503, 3 × network (2 × ECONNREFUSED, 1 × UND_ERR_SOCKET)) of 5',
    });
  });
});
