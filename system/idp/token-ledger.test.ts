import { describe, expect, it } from 'vitest';
import { TokenLedger, type IssuedToken } from './token-ledger.js';

const token = (service: string, issuedAtMs: number): IssuedToken => ({
  subject: `system:serviceaccount:${service}:default`,
  service,
  issuedAtMs,
  expiresAtMs: issuedAtMs + 300_000,
  jti: `${service}-${issuedAtMs}`,
  kid: 'k1',
});

describe('TokenLedger', () => {
  it('keeps one entry per subject, the latest token, most recently refreshed first', () => {
    const l = new TokenLedger();
    l.record(token('p1-a', 1));
    l.record(token('p1-b', 2));
    l.record(token('p1-a', 3));
    expect(l.size).toBe(2);
    expect(l.newest().map((t) => t.jti)).toEqual(['p1-a-3', 'p1-b-2']);
    expect(l.newest(1).map((t) => t.jti)).toEqual(['p1-a-3']);
  });

  it('stays within its cap by evicting the subject refreshed longest ago', () => {
    const l = new TokenLedger(3);
    for (let i = 0; i < 2500; i++) l.record(token(`s${i}`, i));
    expect(l.size).toBe(3);
    expect(l.newest().map((t) => t.service)).toEqual(['s2499', 's2498', 's2497']);
    // A refresh moves a subject to the front, so the next eviction takes another one.
    l.record(token('s2497', 9999));
    l.record(token('new', 10_000));
    expect(l.newest().map((t) => t.service)).toEqual(['new', 's2497', 's2499']);
    expect(() => new TokenLedger(-1)).toThrow(/non-negative/);
    const none = new TokenLedger(0);
    none.record(token('p1-a', 1));
    expect(none.size).toBe(0);
  });
});
