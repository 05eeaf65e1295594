import { describe, expect, it } from 'vitest';
import { parseBenchFlags } from './bench-flags.js';

const spec = {
  numbers: { duration: 8, rounds: { default: 3, integer: true as const } },
  strings: ['rates'] as const,
  booleans: ['k6'] as const,
};

describe('parseBenchFlags (the benches’ command lines)', () => {
  it('gives the defaults when a flag is absent and the value when it is given', () => {
    expect(parseBenchFlags(spec, [])).toEqual({
      numbers: { duration: 8, rounds: 3 },
      strings: { rates: undefined },
      booleans: { k6: false },
      given: new Set(),
    });
    expect(parseBenchFlags(spec, ['--duration', '2.5', '--rounds', '9', '--rates', '500,2000', '--k6'])).toEqual({
      numbers: { duration: 2.5, rounds: 9 },
      strings: { rates: '500,2000' },
      booleans: { k6: true },
      given: new Set(['duration', 'rounds', 'rates', 'k6']),
    });
    expect(parseBenchFlags(spec, ['--rounds=4']).numbers.rounds).toBe(4);
    // Named at its default value is still named: a bench can tell "--rounds 3" from no --rounds.
    expect([...parseBenchFlags(spec, ['--rounds', '3']).given]).toEqual(['rounds']);
  });

  it('refuses a mistyped flag instead of running the default, naming the flags it knows', () => {
    expect(() => parseBenchFlags(spec, ['--round', '9'])).toThrow("Unknown option '--round' (flags: --duration, --rounds, --rates, --k6)");
    expect(() => parseBenchFlags(spec, ['9'])).toThrow(/Unexpected argument '9'.*\(flags: --duration, --rounds, --rates, --k6\)/);
    expect(() => parseBenchFlags(spec, ['--k6=yes'])).toThrow(/--k6.*does not take an argument/);
  });

  it('refuses a value that is not a positive number, or a fraction where a count is asked', () => {
    for (const bad of ['0', '-1', 'abc', '', 'Infinity']) {
      expect(() => parseBenchFlags(spec, [`--duration=${bad}`]), bad).toThrow(`--duration must be a positive number (got '${bad}')`);
    }
    expect(() => parseBenchFlags(spec, ['--rounds', '2.5'])).toThrow("--rounds must be a positive integer (got '2.5')");
    expect(() => parseBenchFlags(spec, ['--rounds'])).toThrow(/--rounds <value>' argument missing/);
  });
});
