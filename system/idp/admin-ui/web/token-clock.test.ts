import { describe, expect, it } from 'vitest';
import { duration, relative, tokenState } from './token-clock.js';

describe('token clock (live status)', () => {
  const issued = 1_000_000;
  const ttl = 300_000;
  it('flags a token in the last 10% of its lifetime as expiring, and one past exp as expired', () => {
    expect(tokenState(issued, issued + ttl, issued + 1000)).toEqual({ state: 'valid', remainingMs: ttl - 1000 });
    expect(tokenState(issued, issued + ttl, issued + ttl - 30_000).state).toBe('valid');
    expect(tokenState(issued, issued + ttl, issued + ttl - 29_999).state).toBe('expiring');
    expect(tokenState(issued, issued + ttl, issued + ttl).state).toBe('expired');
    expect(tokenState(issued, issued + ttl, issued + ttl + 5000)).toEqual({ state: 'expired', remainingMs: -5000 });
  });
  it('writes durations and relative times a person reads at a glance', () => {
    expect(duration(42_900)).toBe('42 s');
    expect(duration(185_000)).toBe('3 min 05 s');
    expect(duration(7_800_000)).toBe('2 h 10 min');
    expect(relative(issued + 250_000, issued)).toBe('in 4 min 10 s');
    expect(relative(issued - 12_000, issued)).toBe('12 s ago');
  });
});
