import { Type } from '@sinclair/typebox';
import { checkSchema } from '../protocol/check.js';
import { readJsonFile } from '../runtime/config-file.js';
import type { Settings } from '../protocol/settings.js';
import { initialSettingsOf } from './app.js';
import { trustedIssuerProblem, type TrustedIssuerConfig } from './verifier-config.js';

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
  /** One entry per cluster whose service-account tokens the IdP accepts (JWKS or TokenReview each). */
  trustedIssuers: TrustedIssuerConfig[];
  /** Initial access-token lifetime, seconds. Default 300. */
  tokenTtlSeconds?: number;
  /** Settings written on first start (merged over defaults). */
  initialSettings?: Partial<Settings>;
  /** Rotate signing keys every this many seconds. Default: only via the admin API. */
  keyRotationIntervalSeconds?: number;
  /** Verified SA tokens remembered until their exp (entries; 0 disables). Default 10000. */
  subjectTokenCacheSize?: number;
  /** Export `authlab_pg_*` of its own database (kube and kind, where the runner cannot reach it). */
  postgresStats?: boolean;
  /**
   * Run the Go token plane (its binary; `port` default 0): discovery's `token_endpoint` names it, at `url`
   * when clients reach it elsewhere than where it listens (a Service address; default its listening URL).
   */
  tokenPlane?: { binary: string; port?: number; url?: string };
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
        /** Required unless `verify` is `tokenreview` (checked after the schema). */
        jwksUri: Type.Optional(Type.String({ pattern: HTTP_URL, mustBe: 'must be an http(s) URL' })),
        /** The issuer's public keys inline, instead of `jwksUri` (an issuer the IdP cannot reach). */
        jwks: Type.Optional(
          Type.Object(
            {
              keys: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
                minItems: 1,
                mustBe: 'must hold at least one key (a JWK Set)',
              }),
            },
            { mustBe: 'must be a JWK Set {"keys": [<JWK>, ...]} with at least one key' },
          ),
        ),
        /** How the issuer's tokens are checked: by JWKS signature (default) or the cluster's TokenReview API. */
        verify: Type.Optional(
          Type.Union([Type.Literal('jwks'), Type.Literal('tokenreview')], { mustBe: 'must be "jwks" or "tokenreview"' }),
        ),
        /** Required when `verify` is `tokenreview`. */
        tokenReview: Type.Optional(
          Type.Object(
            {
              apiServer: Type.String({ pattern: HTTP_URL, mustBe: "must be the apiserver's https URL" }),
              caFile: Type.Optional(Type.String({ mustBe: 'must be a file path' })),
              tokenFile: Type.Optional(Type.String({ mustBe: 'must be a file path' })),
            },
            { mustBe: 'must be an object {"apiServer", "caFile"?, "tokenFile"?}' },
          ),
        ),
      }),
      { minItems: 1, mustBe: 'must be a non-empty array of {"issuer", "jwksUri"} or {"issuer", "verify": "tokenreview", "tokenReview"}' },
    ),
    tokenTtlSeconds: Type.Optional(Type.Unknown()),
    initialSettings: Type.Optional(Type.Unknown()),
    keyRotationIntervalSeconds: Type.Optional(Type.Integer({ minimum: 1, mustBe: 'must be a positive integer' })),
    subjectTokenCacheSize: Type.Optional(Type.Integer({ minimum: 0, mustBe: 'must be an integer >= 0 (0 disables the cache)' })),
    postgresStats: Type.Optional(Type.Boolean({ mustBe: 'must be true or false' })),
    tokenPlane: Type.Optional(
      Type.Object(
        {
          binary: Type.String({ minLength: 1, mustBe: "must be the path of the token plane's binary (authlab-tokenplane)" }),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, mustBe: 'must be an integer 0..65535' })),
          url: Type.Optional(Type.String({ pattern: HTTP_URL, mustBe: 'must be the http(s) base URL clients reach the token plane at' })),
        },
        { mustBe: 'must be an object {"binary", "port"?, "url"?}' },
      ),
    ),
  },
  { mustBe: 'must be a JSON object' },
);

/** Validates a parsed config; throws an Error naming the first wrong field and what to put there. */
export function parseIdpConfig(raw: unknown, source = 'config'): IdpConfig {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  const c = checkSchema(IdpConfigSchema, raw, (problems) => fail(problems[0]!));
  // What the schema cannot say: a JWKS issuer needs jwksUri, a TokenReview issuer tokenReview.apiServer.
  c.trustedIssuers.forEach((t, i) => {
    const problem = trustedIssuerProblem(t, i);
    if (problem) fail(problem);
  });
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
