import { describe, expect, it } from 'vitest';
import { parseTokenResults } from './idp-counter.js';
import { createRpsMeter, peakAndMean } from './rps-meter.js';
import { createVirtualClock } from '../../test/support/virtual-clock.js';

describe('rps meter', () => {
  it('turns completion times into requests/s per bucket, whole buckets only', () => {
    let t = 1000;
    const meter = createRpsMeter({ now: () => t });
    // 5 responses in the first second, 20 in the second, 3 in a half-finished third.
    for (let i = 0; i < 5; i++) meter.record(1000 + i * 100);
    for (let i = 0; i < 20; i++) meter.record(2000 + i * 40);
    for (let i = 0; i < 3; i++) meter.record(3000 + i);
    t = 3500;
    expect(meter.series(0, meter.elapsedMs(), 1000)).toEqual([
      [0, 5],
      [1000, 20],
    ]);
    expect(meter.series(0, 2000, 500)).toEqual([
      [0, 10],
      [500, 0],
      [1000, 26],
      [1500, 14],
    ]);
    expect(meter.count(0, 10_000)).toBe(28);
  });

  it('rejects a bucket that is not a multiple of its resolution', () => {
    const meter = createRpsMeter({ now: () => 0, resolutionMs: 100 });
    expect(() => meter.series(0, 1000, 250)).toThrow(/multiple of the meter resolution/);
  });

  it('peak is the busiest bucket, mean is total over duration', () => {
    expect(
      peakAndMean([
        [0, 10],
        [1000, 30],
        [2000, 20],
      ]),
    ).toEqual({ peak: 30, mean: 20 });
    expect(peakAndMean([])).toEqual({ peak: 0, mean: 0 });
  });
});

describe('IdP token_result_total parsing', () => {
  it('sums every result and ignores other metrics', () => {
    const text = [
      '# HELP token_result_total Token exchanges by result',
      '# TYPE token_result_total counter',
      'token_result_total{result="issued"} 1500',
      'token_result_total{result="invalid_subject",service="idp"} 2',
      'token_result_total_created{result="issued"} 1700000000',
      'token_issue_duration_seconds_count 1502',
    ].join('\n');
    expect(parseTokenResults(text)).toEqual({ total: 1502, byResult: { issued: 1500, invalid_subject: 2 } });
  });
});

describe('virtual clock', () => {
  it('fires timers in time order, skips cancelled ones, and lets promise chains settle between instants', async () => {
    const clock = createVirtualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
    const cancelled = clock.setTimeout(() => fired.push('never'), 150);
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`);
      // A timer that schedules work via a promise: the follow-up must see time 100, then run at 250.
      void Promise.resolve().then(() => clock.setTimeout(() => fired.push(`c@${clock.now()}`), 150));
    }, 100);
    clock.clearTimeout(cancelled);
    await clock.advance(220);
    expect(fired).toEqual(['a@100', 'b@200']);
    expect(clock.now()).toBe(220);
    await clock.advance(100);
    expect(fired).toEqual(['a@100', 'b@200', 'c@250']);
    expect(clock.pending()).toBe(0);
  });
});
