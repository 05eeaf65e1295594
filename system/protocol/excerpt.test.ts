import { describe, expect, it } from 'vitest';
import { EXCERPT_MAX_CHARS, excerpt } from './excerpt.js';

describe('excerpt', () => {
  it('quotes a short string with JSON escapes and markup escaped', () => {
    expect(excerpt('light')).toBe('"light"');
    expect(excerpt('<b>\u0000"')).toBe('"\\u003cb\\u003e\\u0000\\""');
  });
  it('cuts a long string and says how long it was', () => {
    const e = excerpt('x'.repeat(60_000));
    expect(e).toBe(`"${'x'.repeat(EXCERPT_MAX_CHARS)}…" (60000 characters)`);
  });
  it('names arrays and objects without walking them', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(excerpt(deep)).toBe('an array of 1 item');
    expect(excerpt({ a: 1 })).toBe('an object');
    expect(excerpt(null)).toBe('null');
    expect(excerpt(1.5)).toBe('1.5');
    expect(excerpt(undefined)).toBe('nothing');
  });
});
