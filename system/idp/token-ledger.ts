/** The last access token the IdP issued to one subject, as `GET /admin/status` reports it. */
export interface IssuedToken {
  /** `sub` of the service-account token (`system:serviceaccount:<ns>:<sa>`). */
  subject: string;
  /** The service (namespace): `sub` of the access token. */
  service: string;
  /** When the exchange succeeded, ms since the epoch (finer than `iat`, so back-to-back refreshes differ). */
  issuedAtMs: number;
  /** `exp` of the access token, ms since the epoch. */
  expiresAtMs: number;
  jti: string;
  /** Key that signed it. */
  kid: string;
}

/** Subjects remembered by default: the token storm alone makes 2,000+. */
export const TOKEN_LEDGER_DEFAULT_CAP = 10_000;

/**
 * In-memory record of the last successful token exchange per subject, for the admin UI's live status.
 * Bounded: one entry per subject, at most `cap` subjects, the one refreshed longest ago evicted first.
 * A Map keeps insertion order, so re-inserting on every exchange makes iteration oldest → newest and
 * eviction O(1); the exchange path pays one delete and one set.
 */
export class TokenLedger {
  private readonly entries = new Map<string, IssuedToken>();

  /** @param cap most subjects kept (default 10,000); 0 keeps none. */
  constructor(readonly cap = TOKEN_LEDGER_DEFAULT_CAP) {
    if (!Number.isInteger(cap) || cap < 0) throw new Error(`token ledger cap must be a non-negative integer (got ${cap})`);
  }

  record(t: IssuedToken): void {
    if (this.cap === 0) return;
    this.entries.delete(t.subject);
    this.entries.set(t.subject, t);
    if (this.entries.size > this.cap) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Most recently refreshed first, at most `limit`. */
  newest(limit = Infinity): IssuedToken[] {
    const all = [...this.entries.values()];
    const out: IssuedToken[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) out.push(all[i]!);
    return out;
  }
}
