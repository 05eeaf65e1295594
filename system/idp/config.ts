import { Type } from '@sinclair/typebox';
import { checkSchema } from '../protocol/check.js';
import { readJsonFile } from '../runtime/config-file.js';
import type { Settings } from '../protocol/settings.js';
import { initialSettingsOf } from './app.js';
import type { TrustedIssuer } from './subject-verifier.js';

/** Config file of `system/idp/main.ts` (`--config <file.json>`). */
export interface IdpConfig {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (the OS picks a free port). */
  port?: number;
  /** `iss` of access tokens. Default: the IdP's own URL. */
  issuer?: string;
  /** PostgreSQL URL; the IdP creates its `idp_*` tables there on start (idempotent). */
  databaseUrl: string;
  /** Bearer token of the admin API. */
  adminToken: string;
  /** One entry per cluster whose service-account tokens the IdP accepts. */
  trustedIssuers: TrustedIssuer[];
  /** Initial access-token lifetime, seconds. Default 300. */
  tokenTtlSeconds?: number;
  /** Settings written on first start (merged over defaults). */
  initialSettings?: Partial<Settings>;
  /** Rotate signing keys every this many seconds. Default: only via the admin API. */
  keyRotationIntervalSeconds?: number;
  /** Verified SA tokens remembered until their exp (entries; 0 disables). Default 10000. */
  subjectTokenCacheSize?: number;
}

const HTTP_URL = '^https?://[^\\s]+$';

/** What `parseIdpConfig` accepts; unknown fields are tolerated. */
const IdpConfigSchema = Type.Object(
  {
    host: Type.Optional(Type.String({ mustBe: 'must be a string' })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, mustBe: 'must be an integer 0..65535' })),
    issuer: Type.Optional(Type.String({ pattern: HTTP_URL, mustBe: 'must be an http(s) URL' })),
    databaseUrl: Type.String({ pattern: '^postgres(ql)?://', mustBe: 'must be a postgres:// URL', secret: true }),
    adminToken: Type.String({
      minLength: 16,
      mustBe: 'must be a string of at least 16 characters (e.g. from `openssl rand -hex 32`)',
      secret: true,
    }),
    trustedIssuers: Type.Array(
      Type.Object({
        issuer: Type.String({ minLength: 1, mustBe: "must be the issuer's exact iss string" }),
        jwksUri: Type.String({ pattern: HTTP_URL, mustBe: 'must be an http(s) URL' }),
      }),
      { minItems: 1, mustBe: 'must be a non-empty array of {"issuer", "jwksUri"}' },
    ),
    tokenTtlSeconds: Type.Optional(Type.Unknown()),
    initialSettings: Type.Optional(Type.Unknown()),
    keyRotationIntervalSeconds: Type.Optional(Type.Integer({ minimum: 1, mustBe: 'must be a positive integer' })),
    subjectTokenCacheSize: Type.Optional(Type.Integer({ minimum: 0, mustBe: 'must be an integer >= 0 (0 disables the cache)' })),
  },
  { mustBe: 'must be a JSON object' },
);

/** Validates a parsed config; throws an Error naming the first wrong field and what to put there. */
export function parseIdpConfig(raw: unknown, source = 'config'): IdpConfig {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  const c = checkSchema(IdpConfigSchema, raw, (problems) => fail(problems[0]!));
  try {
    // Same validation as PUT /admin/settings (tokenTtlSeconds range, mode names).
    initialSettingsOf({
      tokenTtlSeconds: c.tokenTtlSeconds as number | undefined,
      initialSettings: c.initialSettings as Partial<Settings> | undefined,
    });
  } catch (err) {
    fail(`"tokenTtlSeconds"/"initialSettings": ${(err as Error).message}`);
  }
  return c as IdpConfig;
}

export async function loadIdpConfig(path: string): Promise<IdpConfig> {
  return parseIdpConfig(await readJsonFile(path, 'config file'), path);
}
