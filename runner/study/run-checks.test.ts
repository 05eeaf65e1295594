import { build } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import type { PlatformEvent } from '../platforms/platform.js';
import { faultDuring, modeMismatch } from './run-checks.js';

const stages = (...names: string[]) => Object.fromEntries(names.map((n) => [n, build()]));
const viaA = (...extra: string[]) => stages('upstream', 'total', 'peer-db', 'peer-total', ...extra);

describe('modeMismatch: a run on other settings than its mode is caught (issue 15, item 6)', () => {
  it('accepts what each mode looks like', () => {
    expect(modeMismatch('direct', { ok: 10, errors: {}, serverTiming: stages('db', 'total') })).toBeNull();
    expect(modeMismatch('off', { ok: 10, errors: {}, serverTiming: viaA() })).toBeNull();
    expect(modeMismatch('observe', { ok: 10, errors: {}, serverTiming: viaA('sign', 'peer-verify') })).toBeNull();
    expect(modeMismatch('enforce', { ok: 10, errors: { 401: 1 }, serverTiming: viaA('sign', 'peer-verify') })).toBeNull();
    // A heavy quick run has 2 responses; when both had their CPU measured, only the CPU entries hold
    // the stages (a quick study's CI run marked such observe/enforce runs invalid).
    const measuredOnly = stages('upstream', 'total', 'peer-db', 'peer-total', 'sign-cpu', 'peer-verify-cpu');
    expect(modeMismatch('observe', { ok: 2, errors: {}, serverTiming: measuredOnly })).toBeNull();
    expect(modeMismatch('enforce', { ok: 2, errors: {}, serverTiming: measuredOnly })).toBeNull();
    // ... and when both were measured by the caller only (a quick study's heavy enforce run,
    // 2026-12-05), only `sign-cpu` was kept: the target's verify stage went with the dropped times.
    expect(modeMismatch('enforce', { ok: 2, errors: {}, serverTiming: stages('sign-cpu') })).toBeNull();
    expect(modeMismatch('observe', { ok: 2, errors: {}, serverTiming: stages('peer-verify-cpu') })).toBeNull();
    // k6 reports no stages: only the 401 rule applies.
    expect(modeMismatch('observe', { ok: 10, errors: {}, serverTiming: {} })).toBeNull();
  });

  it('flags a direct run that got 401s and an observe run without a verify stage (the two reported cases)', () => {
    expect(modeMismatch('direct', { ok: 0, errors: { 401: 500 }, serverTiming: {} })).toMatch(/500 responses were 401 .* direct/);
    expect(modeMismatch('observe', { ok: 10, errors: {}, serverTiming: viaA('sign') })).toMatch(/no verify stage at the target/);
    expect(modeMismatch('off', { ok: 10, errors: {}, serverTiming: viaA('sign', 'peer-verify') })).toMatch(/sign stage/);
    expect(modeMismatch('direct', { ok: 10, errors: {}, serverTiming: stages('verify', 'db', 'total') })).toMatch(/verify stage/);
    expect(modeMismatch('enforce', { ok: 10, errors: {}, serverTiming: viaA() })).toMatch(/no sign stage/);
    expect(modeMismatch('off', { ok: 2, errors: {}, serverTiming: viaA('sign-cpu') })).toMatch(/sign stage/);
    expect(modeMismatch('direct', { ok: 2, errors: {}, serverTiming: stages('verify-cpu', 'db', 'total') })).toMatch(/verify stage/);
  });
});

describe('faultDuring', () => {
  const ev = (component: string): PlatformEvent => ({
    at: '2026-11-30T20:00:00Z',
    component,
    pid: 1,
    kind: 'exited',
    detail: 'signal SIGKILL',
  });
  it('an IdP or PostgreSQL event invalidates every pair, a sidecar event only its own', () => {
    expect(faultDuring([ev('idp')], 3)).toMatch(/during the run idp exited \(signal SIGKILL\)/);
    expect(faultDuring([ev('postgres')], 1)).not.toBeNull();
    expect(faultDuring([ev('p2-b')], 2)).toMatch(/p2-b exited/);
    expect(faultDuring([ev('p2-b')], 1)).toBeNull();
    expect(faultDuring([], 1)).toBeNull();
  });
});
