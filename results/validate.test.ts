import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RunMode } from '../system/protocol/modes.js';
import type { EngineName, Results } from './schema.js';
import { validateResults } from './validate.js';

const fixture = (): Results => JSON.parse(readFileSync('test/fixtures/results.sample.json', 'utf8')) as Results;

describe('results.json contract', () => {
  it("types are the schema's: modes from system/protocol, one engine list, platform and design as unions", () => {
    expectTypeOf<Results['runs'][number]['mode']>().toEqualTypeOf<RunMode>();
    expectTypeOf<Results['comparisons'][number]['baseline']>().toEqualTypeOf<RunMode>();
    expectTypeOf<Results['study']['engine']>().toEqualTypeOf<EngineName>();
    expectTypeOf<EngineName>().toEqualTypeOf<'autocannon' | 'k6'>();
    expectTypeOf<Results['study']['platform']>().toEqualTypeOf<'local' | 'kube' | 'kind'>();
    expectTypeOf<Results['study']['design']>().toEqualTypeOf<'interleaved' | 'sequential'>();
  });

  it('accepts the fixture, a kube or kind study, and unknown extra fields', () => {
    expect(validateResults(fixture()).runs.length).toBeGreaterThan(0);
    for (const platform of ['kube', 'kind']) {
      const r = fixture();
      expect(validateResults({ ...r, study: { ...r.study, platform }, newerField: true }).study.platform).toBe(platform);
    }
  });

  it('rejects a platform, design or engine outside the contract, naming the field (ERR_RESULTS_SCHEMA)', () => {
    const r = fixture();
    const cases: [unknown, RegExp][] = [
      [{ ...r, study: { ...r.study, platform: 'cloud' } }, /at \/study\/platform, expected one of 'local', 'kube', 'kind' \(got "cloud"\)/],
      [{ ...r, study: { ...r.study, design: 'random' } }, /at \/study\/design, /],
      [{ ...r, runs: [{ ...r.runs[0], engine: 'wrk' }] }, /at \/runs\/0\/engine, /],
    ];
    for (const [data, where] of cases) {
      expect(() => validateResults(data, 'x.json')).toThrow(
        expect.objectContaining({ code: 'ERR_RESULTS_SCHEMA', message: expect.stringMatching(where) }),
      );
    }
  });
});
