import { ROLES, type Role } from '../../protocol/roles.js';
import type { Revocations, Settings, SettingsSnapshot } from '../../protocol/settings.js';

/** A caller (service, or `group:<name>`) holds `roles` on `target`. */
export interface Grant {
  caller: string;
  target: string;
  roles: Role[];
}

/** A named set of services; a grant to `group:<name>` reaches every member. */
export interface Group {
  /** Always `group:<name>`: the prefix is how a grant's caller is told apart from a service. */
  group: string;
  members: string[];
}

/** Everything the IdP serves from memory; replaced as a whole after each committed change. */
export interface IdpState {
  revision: number;
  refreshEpoch: number;
  refreshServices: Record<string, number>;
  settings: Settings;
  grants: Grant[];
  groups: Group[];
  /** Revocations with the time (seconds) after which no token they affect can still be valid. */
  revokedJtis: { jti: string; exp: number }[];
  revokedSubjects: { subject: string; issuedBefore: number; expiresAt: number }[];
  /** caller service → target → roles, groups expanded (what token exchange reads). */
  rolesByCaller: ReadonlyMap<string, Readonly<Record<string, Role[]>>>;
}

export const GROUP_PREFIX = 'group:';

export function isGroupName(name: string): boolean {
  return name.startsWith(GROUP_PREFIX);
}

/** Expands groups and merges the grants of each caller into `target → roles` (roles in catalogue order). */
export function compileRoles(grants: Grant[], groups: Group[]): Map<string, Record<string, Role[]>> {
  const members = new Map(groups.map((g) => [g.group, g.members]));
  const sets = new Map<string, Map<string, Set<Role>>>();
  for (const g of grants) {
    const callers = isGroupName(g.caller) ? (members.get(g.caller) ?? []) : [g.caller];
    for (const caller of callers) {
      let byTarget = sets.get(caller);
      if (!byTarget) sets.set(caller, (byTarget = new Map()));
      let roles = byTarget.get(g.target);
      if (!roles) byTarget.set(g.target, (roles = new Set()));
      for (const r of g.roles) roles.add(r);
    }
  }
  const out = new Map<string, Record<string, Role[]>>();
  for (const [caller, byTarget] of sets) {
    const rec: Record<string, Role[]> = {};
    for (const [target, roles] of byTarget) rec[target] = ROLES.filter((r) => roles.has(r));
    out.set(caller, rec);
  }
  return out;
}

/** Revocations still relevant at `nowSeconds` (a revocation is dropped once every token it covers has expired). */
export function liveRevocations(state: IdpState, nowSeconds: number): Revocations {
  return {
    jtis: state.revokedJtis.filter((r) => r.exp > nowSeconds),
    subjects: state.revokedSubjects.filter((r) => r.expiresAt > nowSeconds).map(({ subject, issuedBefore }) => ({ subject, issuedBefore })),
  };
}

/** The settings-stream message for `state` at `nowSeconds`. */
export function snapshotOf(state: IdpState, nowSeconds: number): SettingsSnapshot {
  return {
    revision: state.revision,
    settings: state.settings,
    refresh: { epoch: state.refreshEpoch, services: state.refreshServices },
    revocations: liveRevocations(state, nowSeconds),
  };
}
