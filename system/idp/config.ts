import { readJsonFile } from '../runtime/config-file.js';
import type { Settings } from '../protocol/settings.js';
import { initialSettingsOf } from './app.js';
import { trustedIssuerProblems, type TrustedIssuerConfig } from './verifier-config.js';

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
}

/** Validates a parsed config; throws an Error naming the field and what to put there. */
export function parseIdpConfig(raw: unknown, source = 'config'): IdpConfig {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('must be a JSON object');
  const c = raw as Record<string, unknown>;
  const url = (v: unknown) => typeof v === 'string' && /^https?:\/\/[^\s]+$/.test(v);
  if (c.host !== undefined && typeof c.host !== 'string') fail('"host" must be a string');
  if (c.port !== undefined && !(Number.isInteger(c.port) && (c.port as number) >= 0 && (c.port as number) < 65536))
    fail(`"port" must be an integer 0..65535 (got ${JSON.stringify(c.port)})`);
  if (c.issuer !== undefined && !url(c.issuer)) fail(`"issuer" must be an http(s) URL (got ${JSON.stringify(c.issuer)})`);
  if (typeof c.databaseUrl !== 'string' || !/^postgres(ql)?:\/\//.test(c.databaseUrl))
    fail('"databaseUrl" must be a postgres:// URL');
  if (typeof c.adminToken !== 'string' || c.adminToken.length < 16)
    fail('"adminToken" must be a string of at least 16 characters (e.g. from `openssl rand -hex 32`)');
  if (!Array.isArray(c.trustedIssuers) || c.trustedIssuers.length === 0)
    fail('"trustedIssuers" must be a non-empty array of {"issuer", "jwksUri"}');
  (c.trustedIssuers as unknown[]).forEach((t, i) => {
    const o = (t ?? {}) as Record<string, unknown>;
    const problems = trustedIssuerProblems(o, i);
    if (problems.length) fail(problems.join('; '));
  });
  if (c.keyRotationIntervalSeconds !== undefined && !(Number.isInteger(c.keyRotationIntervalSeconds) && (c.keyRotationIntervalSeconds as number) > 0))
    fail('"keyRotationIntervalSeconds" must be a positive integer');
  if (c.subjectTokenCacheSize !== undefined && !(Number.isInteger(c.subjectTokenCacheSize) && (c.subjectTokenCacheSize as number) >= 0))
    fail('"subjectTokenCacheSize" must be an integer >= 0 (0 disables the cache)');
  try {
    // Same validation as PUT /admin/settings (tokenTtlSeconds range, mode names).
    initialSettingsOf({ tokenTtlSeconds: c.tokenTtlSeconds as number | undefined, initialSettings: c.initialSettings as Partial<Settings> | undefined });
  } catch (err) {
    fail(`"tokenTtlSeconds"/"initialSettings": ${(err as Error).message}`);
  }
  return c as unknown as IdpConfig;
}

export async function loadIdpConfig(path: string): Promise<IdpConfig> {
  return parseIdpConfig(await readJsonFile(path, 'config file'), path);
}
