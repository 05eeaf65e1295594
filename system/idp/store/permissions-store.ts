import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Role } from '../../protocol/roles.js';
import { DEFAULT_SETTINGS, type Settings } from '../../protocol/settings.js';
import { generateSigningKeyRecord, type SigningKeyRecord } from '../signing-keys.js';
import { migrate } from './schema.js';
import { compileRoles, type IdpState } from './state.js';

/** One row of the audit log. */
export interface AuditEntry {
  id: number;
  /** ISO 8601. */
  at: string;
  who: string;
  what: string;
  before: unknown;
  after: unknown;
  /** Revision the change produced. */
  revision: number;
}

/** What a mutation callback returns: its result plus the before/after pair for the audit log. */
export interface MutationOutcome<T> {
  result: T;
  before: unknown;
  after: unknown;
}

export interface PermissionsStoreOptions {
  pool: pg.Pool;
  /** Settings written when the store is created for the first time (ignored afterwards). */
  initialSettings?: Settings;
}

/**
 * The permissions store in PostgreSQL: grants, groups, settings, refresh epochs, revocations, a
 * revision and an audit log. Reads come from an in-memory `IdpState`; every change is one
 * transaction that bumps the revision, writes an audit row and reloads the state before COMMIT,
 * so memory never runs ahead of (or behind) what was committed.
 */
export class PermissionsStore {
  private current: IdpState;
  private readonly events = new EventEmitter();
  readonly pool: pg.Pool;

  private constructor(pool: pg.Pool, state: IdpState) {
    this.pool = pool;
    this.current = state;
  }

  /** Migrates the schema (idempotent), seeds the first state and signing keys, loads the state. */
  static async open(opts: PermissionsStoreOptions): Promise<PermissionsStore> {
    const state = await inTransaction(opts.pool, async (tx) => {
      await migrate(tx);
      await tx.query(
        `INSERT INTO idp_state (id, revision, refresh_epoch, settings) VALUES (1, 0, 0, $1)
         ON CONFLICT (id) DO NOTHING`,
        [JSON.stringify(opts.initialSettings ?? DEFAULT_SETTINGS)],
      );
      const keys = await tx.query('SELECT count(*)::int AS n FROM idp_signing_keys');
      if (keys.rows[0].n === 0) {
        await writeKeys(tx, [await generateSigningKeyRecord('current'), await generateSigningKeyRecord('next')]);
      }
      return loadState(tx);
    });
    return new PermissionsStore(opts.pool, state);
  }

  /** The state as of the last commit (an immutable snapshot: never mutate it). */
  get state(): IdpState {
    return this.current;
  }

  /** Calls `listener` after every committed change with the new state. Returns an unsubscribe function. */
  onChange(listener: (state: IdpState) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  /**
   * Runs `fn` in one transaction that also bumps the revision, writes the audit row and reloads the
   * state. If `fn` throws, nothing is written and the revision stays.
   */
  async mutate<T>(
    who: string,
    what: string,
    fn: (tx: pg.PoolClient, state: IdpState) => Promise<MutationOutcome<T>>,
  ): Promise<{ revision: number; result: T }> {
    const { state, out } = await inTransaction(this.pool, async (tx) => {
      // Row lock serialises writers, so `state` seen by fn is the one this change is based on.
      await tx.query('SELECT revision FROM idp_state WHERE id = 1 FOR UPDATE');
      const fresh = await loadState(tx);
      const out = await fn(tx, fresh);
      const rev = await tx.query('UPDATE idp_state SET revision = revision + 1 WHERE id = 1 RETURNING revision');
      const revision = Number(rev.rows[0].revision);
      await tx.query('INSERT INTO idp_audit (who, what, before, after, revision) VALUES ($1, $2, $3, $4, $5)', [
        who,
        what,
        JSON.stringify(out.before ?? null),
        JSON.stringify(out.after ?? null),
        revision,
      ]);
      return { state: await loadState(tx), out };
    });
    // Writers are serialised by the row lock, but their continuations after COMMIT may run in any
    // order: never swap in (or broadcast) a state older than the one held.
    if (state.revision > this.current.revision) {
      this.current = state;
      this.events.emit('change', state);
    }
    return { revision: state.revision, result: out.result };
  }

  /**
   * Newest first: the `limit` entries (clamped to 1..1001) with id below `beforeId` (default: all).
   * The primary-key index serves the range, so a page deep in a long log costs the same as the first.
   */
  async audit(limit: number, beforeId?: number): Promise<AuditEntry[]> {
    const n = Math.max(1, Math.min(1001, Math.floor(limit)));
    const res =
      beforeId === undefined
        ? await this.pool.query('SELECT id, at, who, what, before, after, revision FROM idp_audit ORDER BY id DESC LIMIT $1', [n])
        : await this.pool.query(
            'SELECT id, at, who, what, before, after, revision FROM idp_audit WHERE id < $2 ORDER BY id DESC LIMIT $1',
            [n, beforeId],
          );
    return res.rows.map((r) => ({
      id: Number(r.id),
      at: (r.at as Date).toISOString(),
      who: r.who,
      what: r.what,
      before: r.before,
      after: r.after,
      revision: Number(r.revision),
    }));
  }

  async loadKeys(): Promise<SigningKeyRecord[]> {
    const res = await this.pool.query('SELECT kid, private_jwk, role, retired_at_ms FROM idp_signing_keys');
    return res.rows.map((r) => ({
      kid: r.kid,
      privateJwk: r.private_jwk,
      role: r.role,
      retiredAtMs: r.retired_at_ms === null ? null : Number(r.retired_at_ms),
    }));
  }

  /** Replaces the stored key set without a revision bump (housekeeping: dropping expired keys). */
  async replaceKeys(records: SigningKeyRecord[]): Promise<void> {
    await inTransaction(this.pool, (tx) => writeKeys(tx, records));
  }

  close(): void {
    this.events.removeAllListeners();
  }
}

/** Replaces every stored signing key with `records` inside `tx`. */
export async function writeKeys(tx: pg.PoolClient, records: SigningKeyRecord[]): Promise<void> {
  await tx.query('DELETE FROM idp_signing_keys');
  for (const r of records) {
    await tx.query('INSERT INTO idp_signing_keys (kid, private_jwk, role, retired_at_ms) VALUES ($1, $2, $3, $4)', [
      r.kid,
      JSON.stringify(r.privateJwk),
      r.role,
      r.retiredAtMs,
    ]);
  }
}

async function inTransaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    const out = await fn(tx);
    await tx.query('COMMIT');
    return out;
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    tx.release();
  }
}

async function loadState(tx: pg.PoolClient): Promise<IdpState> {
  // One client runs one query at a time; sequential awaits say so honestly.
  const st = await tx.query('SELECT revision, refresh_epoch, settings FROM idp_state WHERE id = 1');
  const grants = await tx.query('SELECT caller, target, roles FROM idp_grants ORDER BY caller, target');
  const groups = await tx.query('SELECT name, members FROM idp_groups ORDER BY name');
  const refresh = await tx.query('SELECT service, epoch FROM idp_refresh_services');
  const jtis = await tx.query('SELECT jti, exp FROM idp_revoked_jtis ORDER BY jti');
  const subjects = await tx.query('SELECT subject, issued_before, expires_at FROM idp_revoked_subjects ORDER BY subject');
  const row = st.rows[0];
  const grantList = grants.rows.map((r) => ({ caller: r.caller as string, target: r.target as string, roles: r.roles as Role[] }));
  const groupList = groups.rows.map((r) => ({ group: r.name as string, members: r.members as string[] }));
  return {
    revision: Number(row.revision),
    refreshEpoch: Number(row.refresh_epoch),
    refreshServices: Object.fromEntries(refresh.rows.map((r) => [r.service as string, Number(r.epoch)])),
    settings: row.settings as Settings,
    grants: grantList,
    groups: groupList,
    revokedJtis: jtis.rows.map((r) => ({ jti: r.jti as string, exp: Number(r.exp) })),
    revokedSubjects: subjects.rows.map((r) => ({
      subject: r.subject as string,
      issuedBefore: Number(r.issued_before),
      expiresAt: Number(r.expires_at),
    })),
    rolesByCaller: compileRoles(grantList, groupList),
  };
}
