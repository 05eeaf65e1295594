import { Type, type TSchema } from '@sinclair/typebox';
import { checkSchema } from '../../protocol/check.js';
import { AuthlabError } from '../../protocol/errors.js';
import { SIGN_MODES, VERIFY_MODES } from '../../protocol/modes.js';
import { ROLES, type Role } from '../../protocol/roles.js';
import { TOKEN_TTL_LIMIT_SECONDS } from '../../protocol/settings.js';
import type { SettingsPatch } from '../store/changes.js';
import { GROUP_PREFIX, type Grant, type Group } from '../store/state.js';

/** Service names are Kubernetes namespaces: DNS labels. */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Minimum and maximum access-token lifetime, seconds. */
export const TOKEN_TTL_MIN_SECONDS = 10;
export const TOKEN_TTL_MAX_SECONDS = TOKEN_TTL_LIMIT_SECONDS;

function bad(message: string): never {
  throw new AuthlabError('ERR_BAD_REQUEST', message);
}

/** `body` typed by `schema`, or 400 ERR_BAD_REQUEST with the first problem. */
function check<T extends TSchema>(schema: T, body: unknown, at = '') {
  return checkSchema(schema, body, (problems) => bad(problems[0]!), at);
}

const LABEL_CHARS = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
const SERVICE_MUST_BE = 'must be a service name (DNS label like "p1-a")';
const GROUP_MUST_BE = 'must be a group name like "group:readers" (or "readers")';
const Service = Type.String({ pattern: `^${LABEL_CHARS}$`, mustBe: SERVICE_MUST_BE });
const GroupName = Type.String({ pattern: `^(${GROUP_PREFIX})?${LABEL_CHARS}$`, mustBe: GROUP_MUST_BE });
/** A grant caller: a service, or a group when prefixed `group:`. */
const Caller = Type.String({ pattern: `^(${GROUP_PREFIX})?${LABEL_CHARS}$`, mustBe: `${SERVICE_MUST_BE} or a group like "group:readers"` });
const RoleName = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  { mustBe: `must be a role: ${ROLES.join(' or ')}` },
);

/** A JSON object with exactly these fields; `example` shows a good body in the message. */
function body<P extends Parameters<typeof Type.Object>[0]>(properties: P, what: string, example: string) {
  return Type.Object(properties, { additionalProperties: false, what, mustBe: `body must be a JSON object like ${example}` });
}

/** A service name (namespace, DNS label). */
export function serviceName(v: unknown, field: string): string {
  return check(Service, v, field);
}

/** `readers` or `group:readers` → `group:readers`. */
export function groupName(v: unknown, field: string): string {
  const name = check(GroupName, v, field);
  return name.startsWith(GROUP_PREFIX) ? name : `${GROUP_PREFIX}${name}`;
}

/** `group:<name>` stays a group; anything else is a service. */
function callerName(v: string): string {
  return v.startsWith(GROUP_PREFIX) ? groupName(v, 'caller') : v;
}

const GrantBody = body(
  {
    caller: Caller,
    target: Service,
    roles: Type.Array(RoleName, {
      minItems: 1,
      mustBe: `must be a non-empty array of ${ROLES.map((r) => `"${r}"`).join(', ')}; to remove a grant use DELETE /admin/grants`,
    }),
  },
  'the grant',
  '{"caller": "p1-a", "target": "p1-b", "roles": ["read", "write"]}',
);
const GrantKeyBody = body({ caller: Caller, target: Service }, 'the grant key', '{"caller": "p1-a", "target": "p1-b"}');
const GroupBody = body(
  { group: GroupName, members: Type.Array(Service, { mustBe: 'must be an array of service names (may be empty)' }) },
  'the group',
  '{"group": "group:readers", "members": ["p1-a", "p2-a"]}',
);
const GroupKeyBody = body({ group: GroupName }, 'the group key', '{"group": "group:readers"}');

export function parseGrant(raw: unknown): Grant {
  const o = check(GrantBody, raw);
  const roles = ROLES.filter((r) => o.roles.includes(r as Role));
  return { caller: callerName(o.caller), target: o.target, roles };
}

export function parseGrantKey(raw: unknown): { caller: string; target: string } {
  const o = check(GrantKeyBody, raw);
  return { caller: callerName(o.caller), target: o.target };
}

export function parseGroup(raw: unknown): Group {
  const o = check(GroupBody, raw);
  return { group: groupName(o.group, 'group'), members: [...new Set(o.members)].sort() };
}

export function parseGroupKey(raw: unknown): string {
  return groupName(check(GroupKeyBody, raw).group, 'group');
}

const modes = {
  signMode: Type.Optional(
    Type.Union(
      SIGN_MODES.map((m) => Type.Literal(m)),
      { mustBe: `must be one of ${SIGN_MODES.join(', ')}` },
    ),
  ),
  verifyMode: Type.Optional(
    Type.Union(
      VERIFY_MODES.map((m) => Type.Literal(m)),
      { mustBe: `must be one of ${VERIFY_MODES.join(', ')}` },
    ),
  ),
};
const SettingsBody = body(
  {
    global: Type.Optional(
      Type.Object(
        {
          ...modes,
          tokenTtlSeconds: Type.Optional(
            Type.Integer({
              minimum: TOKEN_TTL_MIN_SECONDS,
              maximum: TOKEN_TTL_MAX_SECONDS,
              mustBe: `must be an integer ${TOKEN_TTL_MIN_SECONDS}..${TOKEN_TTL_MAX_SECONDS} (seconds)`,
            }),
          ),
        },
        {
          additionalProperties: false,
          what: 'global',
          mustBe: 'must be a JSON object like {"signMode": "on", "verifyMode": "enforce", "tokenTtlSeconds": 300}',
        },
      ),
    ),
    // Keys are service names, checked one by one below (a pattern here would call a bad key "unknown").
    services: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { mustBe: 'must be a JSON object like {"p1-b": {"verifyMode": "observe"}}' }),
    ),
  },
  'the settings',
  '{"global": {"verifyMode": "observe"}, "services": {"p1-b": {"signMode": "off"}}}',
);
const ServiceModes = Type.Object(modes, {
  additionalProperties: false,
  mustBe: 'must be a JSON object like {"signMode": "on", "verifyMode": "enforce"}, or null to drop the override',
});

/** `{"global"?: {...}, "services"?: {"<name>": {...} | null}}`; partial, merged by the store. */
export function parseSettingsPatch(raw: unknown): SettingsPatch {
  const o = check(SettingsBody, raw);
  const patch: SettingsPatch = {};
  if (o.global !== undefined) patch.global = { ...o.global };
  if (o.services !== undefined) {
    patch.services = {};
    for (const [name, v] of Object.entries(o.services)) {
      serviceName(name, 'services key');
      patch.services[name] = v === null ? null : { ...check(ServiceModes, v, `services.${name}`) };
    }
  }
  return patch;
}

const RefreshBody = body({ service: Type.Optional(Service) }, 'the refresh request', '{} (all services) or {"service": "p1-a"}');

export function parseRefresh(raw: unknown): { service?: string } {
  if (raw === undefined || raw === null) return {};
  const o = check(RefreshBody, raw);
  return o.service === undefined ? {} : { service: o.service };
}

const RetireBody = body(
  {
    kid: Type.String({
      minLength: 1,
      maxLength: 128,
      mustBe: 'must be the kid of a previous signing key (GET /admin/status → keys.previous)',
    }),
  },
  'the key retirement',
  '{"kid": "<a previous key id>"}',
);

/** `{"kid"}`: a previous signing key to stop publishing now. */
export function parseRetire(raw: unknown): { kid: string } {
  return { kid: check(RetireBody, raw).kid };
}

export type RevocationRequest = { jti: string } | { subject: string; issuedBefore: number };

const RevocationBody = body(
  {
    jti: Type.Optional(Type.String({ minLength: 1, maxLength: 256, mustBe: "must be a non-empty string (the token's jti claim)" })),
    subject: Type.Optional(Service),
    issuedBefore: Type.Optional(Type.Integer({ minimum: 0, mustBe: 'must be a NumericDate (integer seconds since the epoch)' })),
  },
  'the revocation',
  '{"jti": "<token id>"} or {"subject": "p1-a", "issuedBefore": 1700000000}',
);

/** `{"jti"}` or `{"subject", "issuedBefore"}` (NumericDate seconds; default: now). */
export function parseRevocation(raw: unknown, nowSeconds: number): RevocationRequest {
  const o = check(RevocationBody, raw);
  if (o.jti !== undefined) {
    if (o.subject !== undefined || o.issuedBefore !== undefined) bad('send either {"jti"} or {"subject", "issuedBefore"}, not both');
    return { jti: o.jti };
  }
  if (o.subject === undefined) bad('send {"jti": "<token id>"} or {"subject": "<service>", "issuedBefore": <seconds>}');
  return { subject: o.subject, issuedBefore: o.issuedBefore ?? nowSeconds };
}

/** Most audit entries one `GET /admin/audit` answers. */
export const AUDIT_LIMIT_MAX = 1000;
/** Most tokens one `GET /admin/status` lists. */
export const STATUS_TOKENS_MAX = 10_000;

/**
 * One query parameter as a whole number in `min..max`, or 400 ERR_BAD_REQUEST naming it. Digits only:
 * `Number()` would take "", "1e3", " 5" and "0x10".
 */
function queryInt(
  query: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  fallback: number | undefined,
): number | undefined {
  const raw = query[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    bad(`${name} must be an integer ${min}..${max}${typeof raw === 'string' ? '' : ' given once'} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

/** Only these parameters: a typo (`?befor=`) is an error, not a silently ignored cursor. */
function onlyParams(query: unknown, allowed: readonly string[], example: string): Record<string, unknown> {
  const q = (query ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(q)) {
    if (!allowed.includes(k)) bad(`unknown query parameter ${JSON.stringify(k)}; use ${example}`);
  }
  return q;
}

/** `GET /admin/audit?before=<id>&limit=<n>`: entries with id < before (default: the newest), newest first. */
export function parseAuditQuery(query: unknown): { limit: number; before?: number } {
  const q = onlyParams(query, ['limit', 'before'], `?limit=1..${AUDIT_LIMIT_MAX}&before=<id from "nextBefore">`);
  const limit = queryInt(q, 'limit', 1, AUDIT_LIMIT_MAX, 100)!;
  const before = queryInt(q, 'before', 1, Number.MAX_SAFE_INTEGER, undefined);
  return before === undefined ? { limit } : { limit, before };
}

/** `GET /admin/status?tokens=<n>`: how many issued tokens to list (most recently refreshed first). */
export function parseStatusQuery(query: unknown): { tokens: number } {
  const q = onlyParams(query, ['tokens'], `?tokens=0..${STATUS_TOKENS_MAX}`);
  return { tokens: queryInt(q, 'tokens', 0, STATUS_TOKENS_MAX, 1000)! };
}
