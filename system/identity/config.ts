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

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Validates a parsed config; throws an Error naming the field and what to put there. */
export function parseIdentityConfig(raw: unknown, source = 'config'): IdentityConfig {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be a JSON object');
  const c = raw as Record<string, unknown>;
  if (c.host !== undefined && typeof c.host !== 'string') fail(`"host" must be a string (got ${JSON.stringify(c.host)})`);
  if (c.port !== undefined && !(Number.isInteger(c.port) && (c.port as number) >= 0 && (c.port as number) < 65536))
    fail(`"port" must be an integer 0..65535 (got ${JSON.stringify(c.port)})`);
  if (c.issuer !== undefined && (typeof c.issuer !== 'string' || !/^https?:\/\//.test(c.issuer)))
    fail(`"issuer" must be an http(s) URL (got ${JSON.stringify(c.issuer)})`);
  if (c.audience !== undefined && (typeof c.audience !== 'string' || !c.audience))
    fail(`"audience" must be a non-empty string`);
  if (c.tokenTtlSeconds !== undefined && !(Number.isInteger(c.tokenTtlSeconds) && (c.tokenTtlSeconds as number) >= 1))
    fail(`"tokenTtlSeconds" must be a positive integer (got ${JSON.stringify(c.tokenTtlSeconds)})`);
  if (typeof c.tokenDir !== 'string' || !c.tokenDir) fail('"tokenDir" is required: the directory for token files');
  if (!Array.isArray(c.services)) fail('"services" must be an array of {"namespace", "serviceAccount"}');
  const services = (c.services as unknown[]).map((s, i) => {
    const o = (s ?? {}) as Record<string, unknown>;
    if (typeof o.namespace !== 'string' || !NAME.test(o.namespace))
      fail(`"services[${i}].namespace" must be a DNS label like "p1-a" (got ${JSON.stringify(o.namespace)})`);
    if (typeof o.serviceAccount !== 'string' || !NAME.test(o.serviceAccount))
      fail(`"services[${i}].serviceAccount" must be a DNS label like "default" (got ${JSON.stringify(o.serviceAccount)})`);
    return { namespace: o.namespace as string, serviceAccount: o.serviceAccount as string };
  });
  return { ...(c as unknown as IdentityConfig), services };
}

/** Reads and validates a config file. */
export async function loadIdentityConfig(path: string): Promise<IdentityConfig> {
  return parseIdentityConfig(await readJsonFile(path, 'config file'), path);
}
