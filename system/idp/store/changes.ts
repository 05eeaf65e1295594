import { AuthlabError } from '../../protocol/errors.js';
import type { Settings } from '../../protocol/settings.js';
import type { SigningKeyRecord } from '../signing-keys.js';
import { writeKeys, type PermissionsStore } from './permissions-store.js';
import type { Grant, Group } from './state.js';

/** A validated partial settings update: `null` for a service removes its overrides. */
export interface SettingsPatch {
  global?: Partial<Settings['global']>;
  services?: Record<string, Partial<Settings['services'][string]> | null>;
}

/**
 * The admin changes, one function each. Each runs as one `store.mutate` transaction (revision bump +
 * audit row) and resolves to `{ revision, result }`. Inputs are validated by the caller.
 */
export function storeChanges(store: PermissionsStore, who: string) {
  return {
    putGrant(g: Grant) {
      return store.mutate(who, 'grant.put', async (tx, state) => {
        const before = state.grants.find((x) => x.caller === g.caller && x.target === g.target) ?? null;
        await tx.query(
          `INSERT INTO idp_grants (caller, target, roles) VALUES ($1, $2, $3)
           ON CONFLICT (caller, target) DO UPDATE SET roles = EXCLUDED.roles`,
          [g.caller, g.target, g.roles],
        );
        return { result: g, before, after: g };
      });
    },

    deleteGrant(caller: string, target: string) {
      return store.mutate(who, 'grant.delete', async (tx, state) => {
        const before = state.grants.find((x) => x.caller === caller && x.target === target);
        if (!before) {
          throw new AuthlabError('ERR_NOT_FOUND', `no grant from ${caller} to ${target}; GET /admin/grants lists them`);
        }
        await tx.query('DELETE FROM idp_grants WHERE caller = $1 AND target = $2', [caller, target]);
        return { result: before, before, after: null };
      });
    },

    putGroup(g: Group) {
      return store.mutate(who, 'group.put', async (tx, state) => {
        const before = state.groups.find((x) => x.group === g.group) ?? null;
        await tx.query(
          `INSERT INTO idp_groups (name, members) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET members = EXCLUDED.members`,
          [g.group, g.members],
        );
        return { result: g, before, after: g };
      });
    },

    /** Deleting a group also deletes the grants made to it (they could reach nobody). */
    deleteGroup(group: string) {
      return store.mutate(who, 'group.delete', async (tx, state) => {
        const before = state.groups.find((x) => x.group === group);
        if (!before) throw new AuthlabError('ERR_NOT_FOUND', `no group ${group}; GET /admin/groups lists them`);
        const grants = state.grants.filter((x) => x.caller === group);
        await tx.query('DELETE FROM idp_grants WHERE caller = $1', [group]);
        await tx.query('DELETE FROM idp_groups WHERE name = $1', [group]);
        const result = { group: before, removedGrants: grants };
        return { result, before: result, after: null };
      });
    },

    updateSettings(patch: SettingsPatch) {
      return store.mutate(who, 'settings.put', async (tx, state) => {
        const before = state.settings;
        const services: Settings['services'] = { ...before.services };
        for (const [name, own] of Object.entries(patch.services ?? {})) {
          if (own === null) delete services[name];
          else services[name] = { ...services[name], ...own };
        }
        const after: Settings = { global: { ...before.global, ...patch.global }, services };
        await tx.query('UPDATE idp_state SET settings = $1 WHERE id = 1', [JSON.stringify(after)]);
        return { result: after, before, after };
      });
    },

    refreshTokens(service?: string) {
      return store.mutate<{ epoch: number; service?: string }>(who, 'refresh-tokens', async (tx, state) => {
        if (service === undefined) {
          const res = await tx.query('UPDATE idp_state SET refresh_epoch = refresh_epoch + 1 WHERE id = 1 RETURNING refresh_epoch');
          const epoch = Number(res.rows[0].refresh_epoch);
          return { result: { epoch }, before: { epoch: state.refreshEpoch }, after: { epoch } };
        }
        const res = await tx.query(
          `INSERT INTO idp_refresh_services (service, epoch) VALUES ($1, 1)
           ON CONFLICT (service) DO UPDATE SET epoch = idp_refresh_services.epoch + 1 RETURNING epoch`,
          [service],
        );
        const epoch = Number(res.rows[0].epoch);
        return {
          result: { service, epoch },
          before: { service, epoch: state.refreshServices[service] ?? 0 },
          after: { service, epoch },
        };
      });
    },

    /** `exp` (seconds): when every token with this jti has surely expired. Also drops expired revocations. */
    revokeJti(jti: string, exp: number, nowSeconds: number) {
      return store.mutate(who, 'revocation.jti', async (tx, state) => {
        await pruneRevocations(tx, nowSeconds);
        const before = state.revokedJtis.find((r) => r.jti === jti) ?? null;
        await tx.query(
          `INSERT INTO idp_revoked_jtis (jti, exp) VALUES ($1, $2)
           ON CONFLICT (jti) DO UPDATE SET exp = GREATEST(idp_revoked_jtis.exp, EXCLUDED.exp)`,
          [jti, exp],
        );
        return { result: { jti, exp }, before, after: { jti, exp } };
      });
    },

    revokeSubject(subject: string, issuedBefore: number, expiresAt: number, nowSeconds: number) {
      return store.mutate(who, 'revocation.subject', async (tx, state) => {
        await pruneRevocations(tx, nowSeconds);
        const before = state.revokedSubjects.find((r) => r.subject === subject) ?? null;
        await tx.query(
          `INSERT INTO idp_revoked_subjects (subject, issued_before, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (subject) DO UPDATE SET issued_before = EXCLUDED.issued_before, expires_at = EXCLUDED.expires_at`,
          [subject, issuedBefore, expiresAt],
        );
        const after = { subject, issuedBefore };
        return { result: after, before, after };
      });
    },

    /** Stores the key set without a retired previous key; the caller swaps its ring after this resolves. */
    retireKey(kid: string, before: { previous: string[] }, records: SigningKeyRecord[]) {
      return store.mutate(who, 'keys.retire', async (tx) => {
        await writeKeys(tx, records);
        const after = { retired: kid, previous: records.filter((r) => r.role === 'previous').map((r) => r.kid) };
        return { result: after, before, after };
      });
    },

    /** Stores the rotated key set; the caller swaps its in-memory ring after this resolves. */
    rotateKeys(before: { previous: string[]; current: string; next: string }, records: SigningKeyRecord[]) {
      return store.mutate(who, 'keys.rotate', async (tx) => {
        await writeKeys(tx, records);
        const after = {
          previous: records.filter((r) => r.role === 'previous').map((r) => r.kid),
          current: records.find((r) => r.role === 'current')?.kid,
          next: records.find((r) => r.role === 'next')?.kid,
        };
        return { result: after, before, after };
      });
    },
  };
}

async function pruneRevocations(tx: import('pg').PoolClient, nowSeconds: number): Promise<void> {
  await tx.query('DELETE FROM idp_revoked_jtis WHERE exp <= $1', [nowSeconds]);
  await tx.query('DELETE FROM idp_revoked_subjects WHERE expires_at <= $1', [nowSeconds]);
}

export type StoreChanges = ReturnType<typeof storeChanges>;
