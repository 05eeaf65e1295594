import {
  DEFAULT_SETTINGS,
  effectiveSettings,
  TOKEN_TTL_LIMIT_SECONDS,
  type Revocations,
  type SettingsSnapshot,
} from '../../protocol/settings.js';
import type { SignMode, VerifyMode } from '../../protocol/modes.js';

/** What the hot path reads: one frozen object, swapped in one assignment (never mutated). */
export interface AppliedSettings {
  /** Revision of the applied snapshot; -1 before the first. */
  readonly revision: number;
  readonly signMode: SignMode;
  readonly verifyMode: VerifyMode;
  /**
   * The longest access-token TTL the IdP has announced since this sidecar started, seconds (before
   * the first snapshot: the IdP's upper limit). Tokens living longer are refused.
   */
  readonly maxTokenTtlSeconds: number;
}

export interface SettingsStateOptions {
  service: string;
  /** Called when the IdP asks this sidecar to drop and re-fetch its token. */
  onRefreshRequested: () => void;
  /** Called with every snapshot's revocations (to update the list and evict cached tokens). */
  onRevocations: (revocations: Revocations) => void;
  /** Called when a snapshot older than the applied one arrives and is ignored. */
  onStale?: (revision: number, appliedRevision: number) => void;
  /** Called after a snapshot is applied (the settings the hot path reads have been swapped). */
  onApplied?: (applied: AppliedSettings) => void;
}

export interface SettingsState {
  current(): AppliedSettings;
  apply(snapshot: SettingsSnapshot, firstAfterConnect: boolean): void;
}

/**
 * Applies settings snapshots atomically, and only in increasing revision order (an equal revision
 * re-applies the same settings; an older one is ignored). Before the first snapshot the safe defaults apply (sign on,
 * verify enforce); after an IdP outage the last snapshot simply stays (fail-static).
 */
export function createSettingsState(options: SettingsStateOptions): SettingsState {
  const initial = effectiveSettings(DEFAULT_SETTINGS, options.service);
  let applied: AppliedSettings = Object.freeze({ revision: -1, ...initial, maxTokenTtlSeconds: TOKEN_TTL_LIMIT_SECONDS });
  let maxTtl = 0;
  let seenEpoch = -1;
  let seenOwn = -1;
  return {
    current: () => applied,
    apply(snapshot, firstAfterConnect) {
      // Only forward: a snapshot older than the applied one (a late frame from a dropped connection,
      // an out-of-order broadcast) would put this sidecar back on a previous trial's settings.
      if (snapshot.revision < applied.revision) {
        options.onStale?.(snapshot.revision, applied.revision);
        return;
      }
      const eff = effectiveSettings(snapshot.settings, options.service);
      options.onRevocations(snapshot.revocations ?? { jtis: [], subjects: [] });
      // The largest TTL seen, not the current one: lowering the TTL must not refuse tokens already issued.
      const ttl = snapshot.settings.global.tokenTtlSeconds;
      if (Number.isFinite(ttl) && ttl > 0) maxTtl = Math.max(maxTtl, ttl);
      applied = Object.freeze({
        revision: snapshot.revision,
        signMode: eff.signMode,
        verifyMode: eff.verifyMode,
        maxTokenTtlSeconds: maxTtl > 0 ? maxTtl : TOKEN_TTL_LIMIT_SECONDS,
      });
      options.onApplied?.(applied);
      const epoch = snapshot.refresh?.epoch ?? 0;
      const own = snapshot.refresh?.services?.[options.service] ?? 0;
      // The first snapshot of a connection only records the epochs: a fresh sidecar already fetched
      // a fresh token, and a reconnect must not make a whole fleet refresh at once.
      const grew = !firstAfterConnect && seenEpoch >= 0 && (epoch > seenEpoch || own > seenOwn);
      seenEpoch = Math.max(seenEpoch, epoch);
      seenOwn = Math.max(seenOwn, own);
      if (grew) options.onRefreshRequested();
    },
  };
}
