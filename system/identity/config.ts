import { Type } from '@sinclair/typebox';
import { checkSchema } from '../protocol/check.js';
import { readJsonFile } from '../runtime/config-file.js';
import type { ServiceIdentity } from './token-files.js';

/** Config file of `system/identity/main.ts` (`--config <file.json>`). */
export interface IdentityConfig {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (the OS picks a free port). */
  port?: number;
  /** `iss` of minted tokens. Default: the server's own URL once listening. */
  issuer?: string;
  /** Default `authlab-idp`. */
  audience?: string;
  /** Lifetime of written tokens, seconds. Default 3600. */
  tokenTtlSeconds?: number;
  /** Root of the token files: `<tokenDir>/<namespace>/token`. */
  tokenDir: string;
  services: ServiceIdentity[];
}

/** A DNS label, as Kubernetes names are. */
const NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** What `parseIdentityConfig` accepts; unknown fields are tolerated. */
const IdentityConfigSchema = Type.Object(
  {
    host: Type.Optional(Type.String({ mustBe: 'must be a string' })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, mustBe: 'must be an integer 0..65535' })),
    issuer: Type.Optional(Type.String({ pattern: '^https?://', mustBe: 'must be an http(s) URL' })),
    audience: Type.Optional(Type.String({ minLength: 1, mustBe: 'must be a non-empty string' })),
    tokenTtlSeconds: Type.Optional(Type.Integer({ minimum: 1, mustBe: 'must be a positive integer' })),
    tokenDir: Type.String({ minLength: 1, mustBe: 'is required: the directory for token files' }),
    services: Type.Array(
      Type.Object({
        namespace: Type.String({ pattern: NAME, mustBe: 'must be a DNS label like "p1-a"' }),
        serviceAccount: Type.String({ pattern: NAME, mustBe: 'must be a DNS label like "default"' }),
      }),
      { mustBe: 'must be an array of {"namespace", "serviceAccount"}' },
    ),
  },
  { mustBe: 'must be a JSON object' },
);

/** Validates a parsed config; throws an Error naming the first wrong field and what to put there. */
export function parseIdentityConfig(raw: unknown, source = 'config'): IdentityConfig {
  const c = checkSchema(IdentityConfigSchema, raw, (problems) => {
    throw new Error(`${source}: ${problems[0]}`);
  });
  // Only the identity fields of each service, whatever else the file carries.
  const services: ServiceIdentity[] = c.services.map((s) => ({ namespace: s.namespace, serviceAccount: s.serviceAccount }));
  return { ...(c as IdentityConfig), services };
}

/** Reads and validates a config file. */
export async function loadIdentityConfig(path: string): Promise<IdentityConfig> {
  return parseIdentityConfig(await readJsonFile(path, 'config file'), path);
}
