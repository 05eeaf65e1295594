import type { Revocations } from '../../protocol/settings.js';

/** Revoked jtis and subjects, replaced whole from each settings snapshot. */
export interface RevocationList {
  /** Replaces the list; returns a predicate matching tokens that are now revoked. */
  apply(revocations: Revocations): void;
  isRevoked(sub: string, jti: string, issuedAtMs: number): boolean;
}

export function createRevocationList(): RevocationList {
  let jtis = new Set<string>();
  // subject → issuedBefore in ms
  let subjects = new Map<string, number>();
  return {
    apply(r) {
      jtis = new Set(r.jtis.map((j) => j.jti));
      subjects = new Map(r.subjects.map((s) => [s.subject, s.issuedBefore * 1000]));
    },
    isRevoked(sub, jti, issuedAtMs) {
      if (jtis.size > 0 && jtis.has(jti)) return true;
      if (subjects.size === 0) return false;
      const before = subjects.get(sub);
      return before !== undefined && issuedAtMs < before;
    },
  };
}
