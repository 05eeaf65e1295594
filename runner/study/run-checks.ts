import type { RunMode } from '../../system/protocol/modes.js';
import type { EngineResult } from '../engines/types.js';
import type { PlatformEvent } from '../platforms/platform.js';
import { pairOf } from '../../system/protocol/endpoints.js';
import { isCpuStage } from '../../results/schema.js';

/**
 * Why a run did not run in the mode it was planned in, or null. A pair left on the previous trial's
 * settings shows in what the run saw: a `direct` or `off` run has no verify or sign stage and no 401;
 * an `observe` run signs and has the target's verify stage (`peer-verify`) but never a 401; an
 * `enforce` run signs and verifies.
 */
export function modeMismatch(mode: RunMode, r: Pick<EngineResult, 'ok' | 'errors' | 'serverTiming'>): string | null {
  const unauthorized = r.errors['401'] ?? 0;
  if (unauthorized > 0 && mode !== 'enforce') {
    return `${unauthorized} responses were 401 although the pair was set to ${mode} (no verification): it ran on other settings`;
  }
  // Stages only where some request succeeded and the engine reads Server-Timing (k6 does not).
  if (r.ok === 0 || Object.keys(r.serverTiming).length === 0) return null;
  // A response whose stage CPU was measured is recorded only in its `-cpu` entries (the engines keep
  // the reads out of the time stages), so a run of a few requests may hold `sign-cpu` and no `sign`.
  const has = (stage: string) => Object.hasOwn(r.serverTiming, stage) || Object.hasOwn(r.serverTiming, `${stage}-cpu`);
  const wrong = (what: string) => `the responses ${what}, which ${mode} does not: the pair ran on other settings`;
  switch (mode) {
    case 'direct':
      return has('verify') ? wrong('carry a verify stage') : null;
    case 'off':
      if (has('sign')) return wrong('carry a sign stage');
      return has('peer-verify') ? wrong('carry the target’s verify stage') : null;
    case 'observe':
    case 'enforce':
      // When every response had its CPU measured by one side only (two responses, both the caller's
      // one in eight), the other side's stage is missing from what was kept, not from the responses.
      if (!Object.keys(r.serverTiming).some((stage) => !isCpuStage(stage))) return null;
      if (!has('sign')) return `the responses carry no sign stage although ${mode} signs: the pair ran on other settings`;
      return has('peer-verify')
        ? null
        : `the responses carry no verify stage at the target although ${mode} verifies: the pair ran on other settings`;
  }
}

/**
 * Why events of the platform during a run make it invalid, or null: any exit or restart of
 * PostgreSQL, the identity issuer or the IdP touches every pair; a sidecar `p<i>-a|b` only pair i.
 */
export function faultDuring(events: readonly PlatformEvent[], pair: number): string | null {
  const relevant = events.filter((e) => {
    const own = pairOf(e.component);
    return own === null || own === pair;
  });
  if (relevant.length === 0) return null;
  return `during the run ${relevant.map((e) => `${e.component} ${e.kind} (${e.detail})`).join('; ')}`;
}
