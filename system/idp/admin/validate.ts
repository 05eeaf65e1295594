import { AuthlabError } from '../../protocol/errors.js';
import { SIGN_MODES, VERIFY_MODES } from '../../protocol/modes.js';
import { ROLES, type Role } from '../../protocol/roles.js';
import type { SettingsPatch } from '../store/changes.js';
import { GROUP_PREFIX, type Grant, type Group } from '../store/state.js';

/** Service names are Kubernetes namespaces: DNS labels. */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Minimum and maximum access-token lifetime, seconds. */
export const TOKEN_TTL_MIN_SECONDS = 10;
export const TOKEN_TTL_MAX_SECONDS = 86_400;

function bad(message: string): never {
  throw new AuthlabError('ERR_BAD_REQUEST', message);
}

function object(body: unknown, example: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    bad(`body must be a JSON object like ${example}`);
  }
  return body as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) bad(`unknown field ${JSON.stringify(k)} in ${where}; allowed: ${allowed.join(', ')}`);
  }
}

/** A service name (namespace, DNS label). */
export function serviceName(v: unknown, field: string): string {
  if (typeof v !== 'string' || !LABEL.test(v)) bad(`"${field}" must be a service name (DNS label like "p1-a"), got ${JSON.stringify(v)}`);
  return v as string;
}

/** `readers` or `group:readers` → `group:readers`. */
export function groupName(v: unknown, field: string): string {
  const name = typeof v === 'string' && v.startsWith(GROUP_PREFIX) ? v.slice(GROUP_PREFIX.length) : v;
  if (typeof name !== 'string' || !LABEL.test(name)) {
    bad(`"${field}" must be a group name like "group:readers" (or "readers"), got ${JSON.stringify(v)}`);
  }
  return `${GROUP_PREFIX}${name as string}`;
}

/** A grant caller: a service, or a group when prefixed `group:`. */
function callerName(v: unknown): string {
  return typeof v === 'string' && v.startsWith(GROUP_PREFIX) ? groupName(v, 'caller') : serviceName(v, 'caller');
}

const GRANT_EXAMPLE = '{"caller": "p1-a", "target": "p1-b", "roles": ["read", "write"]}';

export function parseGrant(body: unknown): Grant {
  const o = object(body, GRANT_EXAMPLE);
  onlyKeys(o, ['caller', 'target', 'roles'], 'the grant');
  const caller = callerName(o.caller);
  const target = serviceName(o.target, 'target');
  if (!Array.isArray(o.roles) || o.roles.length === 0) {
    bad(`"roles" must be a non-empty array of ${ROLES.map((r) => `"${r}"`).join(', ')}; to remove a grant use DELETE /admin/grants`);
  }
  for (const r of o.roles as unknown[]) {
    if (!ROLES.includes(r as Role)) bad(`unknown role ${JSON.stringify(r)}; roles are ${ROLES.join(', ')}`);
  }
  const roles = ROLES.filter((r) => (o.roles as unknown[]).includes(r));
  return { caller, target, roles };
}

export function parseGrantKey(body: unknown): { caller: string; target: string } {
  const o = object(body, '{"caller": "p1-a", "target": "p1-b"}');
  onlyKeys(o, ['caller', 'target'], 'the grant key');
  return { caller: callerName(o.caller), target: serviceName(o.target, 'target') };
}

export function parseGroup(body: unknown): Group {
  const o = object(body, '{"group": "group:readers", "members": ["p1-a", "p2-a"]}');
  onlyKeys(o, ['group', 'members'], 'the group');
  const group = groupName(o.group, 'group');
  if (!Array.isArray(o.members)) bad('"members" must be an array of service names (may be empty)');
  const members = [...new Set((o.members as unknown[]).map((m, i) => serviceName(m, `members[${i}]`)))].sort();
  return { group, members };
}

export function parseGroupKey(body: unknown): string {
  const o = object(body, '{"group": "group:readers"}');
  onlyKeys(o, ['group'], 'the group key');
  return groupName(o.group, 'group');
}

function modes(o: Record<string, unknown>, where: string): { signMode?: 'on' | 'off'; verifyMode?: 'off' | 'observe' | 'enforce' } {
  const out: { signMode?: 'on' | 'off'; verifyMode?: 'off' | 'observe' | 'enforce' } = {};
  if (o.signMode !== undefined) {
    if (!SIGN_MODES.includes(o.signMode as 'on')) bad(`${where}.signMode must be one of ${SIGN_MODES.join(', ')}, got ${JSON.stringify(o.signMode)}`);
    out.signMode = o.signMode as 'on' | 'off';
  }
  if (o.verifyMode !== undefined) {
    if (!VERIFY_MODES.includes(o.verifyMode as 'off')) bad(`${where}.verifyMode must be one of ${VERIFY_MODES.join(', ')}, got ${JSON.stringify(o.verifyMode)}`);
    out.verifyMode = o.verifyMode as 'off' | 'observe' | 'enforce';
  }
  return out;
}

/** `{"global"?: {...}, "services"?: {"<name>": {...} | null}}`; partial, merged by the store. */
export function parseSettingsPatch(body: unknown): SettingsPatch {
  const o = object(body, '{"global": {"verifyMode": "observe"}, "services": {"p1-b": {"signMode": "off"}}}');
  onlyKeys(o, ['global', 'services'], 'the settings');
  const patch: SettingsPatch = {};
  if (o.global !== undefined) {
    const g = object(o.global, '{"signMode": "on", "verifyMode": "enforce", "tokenTtlSeconds": 300}');
    onlyKeys(g, ['signMode', 'verifyMode', 'tokenTtlSeconds'], 'global');
    patch.global = modes(g, 'global');
    if (g.tokenTtlSeconds !== undefined) {
      const t = g.tokenTtlSeconds;
      if (!Number.isInteger(t) || (t as number) < TOKEN_TTL_MIN_SECONDS || (t as number) > TOKEN_TTL_MAX_SECONDS) {
        bad(`global.tokenTtlSeconds must be an integer ${TOKEN_TTL_MIN_SECONDS}..${TOKEN_TTL_MAX_SECONDS} (seconds), got ${JSON.stringify(t)}`);
      }
      patch.global.tokenTtlSeconds = t as number;
    }
  }
  if (o.services !== undefined) {
    const s = object(o.services, '{"p1-b": {"verifyMode": "observe"}}');
    patch.services = {};
    for (const [name, v] of Object.entries(s)) {
      serviceName(name, `services key`);
      if (v === null) {
        patch.services[name] = null;
        continue;
      }
      const so = object(v, '{"signMode": "on", "verifyMode": "enforce"}');
      onlyKeys(so, ['signMode', 'verifyMode'], `services.${name}`);
      patch.services[name] = modes(so, `services.${name}`);
    }
  }
  return patch;
}

export function parseRefresh(body: unknown): { service?: string } {
  if (body === undefined || body === null) return {};
  const o = object(body, '{} (all services) or {"service": "p1-a"}');
  onlyKeys(o, ['service'], 'the refresh request');
  return o.service === undefined ? {} : { service: serviceName(o.service, 'service') };
}

export type RevocationRequest = { jti: string } | { subject: string; issuedBefore: number };

/** `{"jti"}` or `{"subject", "issuedBefore"}` (NumericDate seconds; default: now). */
export function parseRevocation(body: unknown, nowSeconds: number): RevocationRequest {
  const o = object(body, '{"jti": "<token id>"} or {"subject": "p1-a", "issuedBefore": 1700000000}');
  onlyKeys(o, ['jti', 'subject', 'issuedBefore'], 'the revocation');
  if (o.jti !== undefined) {
    if (o.subject !== undefined || o.issuedBefore !== undefined) bad('send either {"jti"} or {"subject", "issuedBefore"}, not both');
    if (typeof o.jti !== 'string' || o.jti.length === 0 || o.jti.length > 256) bad('"jti" must be a non-empty string (the token\'s jti claim)');
    return { jti: o.jti as string };
  }
  if (o.subject === undefined) bad('send {"jti": "<token id>"} or {"subject": "<service>", "issuedBefore": <seconds>}');
  const subject = serviceName(o.subject, 'subject');
  const ib = o.issuedBefore ?? nowSeconds;
  if (!Number.isInteger(ib) || (ib as number) < 0) bad(`"issuedBefore" must be a NumericDate (integer seconds since the epoch), got ${JSON.stringify(ib)}`);
  return { subject, issuedBefore: ib as number };
}
