import { readJsonFile } from '../runtime/config-file.js';
import { REFRESH_POLICY_NAMES, type RefreshPolicyName } from './token/refresh-policy.js';

/** The sidecar's config file (`main.ts --config <file.json>`). */
export interface SidecarConfig {
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 0 (the OS picks; the ListeningLine tells the URL). */
  port?: number;
  /** This service's name (its namespace), e.g. `p1-b`. */
  service: string;
  /** The pair the service belongs to (metric label). */
  pair: number;
  /** The service's own database, with its own role. */
  databaseUrl: string;
  /** IdP base URL; every other IdP URL comes from its discovery document. */
  idpUrl: string;
  /** File holding the projected SA token (rewritten by the kubelet / identity issuer). */
  saTokenPath: string;
  /** Service name → that service's sidecar base URL. */
  peers: Record<string, string>;
  /** Default `window` (uniform in [50%, 90%] of the token lifetime). */
  refreshPolicy?: RefreshPolicyName;
  /** When set, `/local/*` requires `Authorization: Bearer <localAdminToken>`. */
  localAdminToken?: string;
}

/** Validates a parsed config; throws one message naming every problem and how to fix it. */
export function validateSidecarConfig(raw: unknown, source = 'config'): SidecarConfig {
  const problems: string[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`${source}: must be a JSON object with service, pair, databaseUrl, idpUrl, saTokenPath, peers`);
  }
  const c = raw as Record<string, unknown>;
  const str = (k: string, optional = false) => {
    if (c[k] === undefined && optional) return;
    if (typeof c[k] !== 'string' || (c[k] as string).length === 0) problems.push(`"${k}" must be a non-empty string (got ${JSON.stringify(c[k])})`);
  };
  const url = (k: string) => {
    str(k);
    if (typeof c[k] === 'string') {
      try {
        new URL(c[k] as string);
      } catch {
        problems.push(`"${k}" must be an absolute URL (got ${JSON.stringify(c[k])})`);
      }
    }
  };
  str('service');
  str('saTokenPath');
  str('host', true);
  str('localAdminToken', true);
  url('databaseUrl');
  url('idpUrl');
  if (typeof c.pair !== 'number' || !Number.isInteger(c.pair) || c.pair < 0) problems.push(`"pair" must be a non-negative integer (got ${JSON.stringify(c.pair)})`);
  if (c.port !== undefined && (typeof c.port !== 'number' || !Number.isInteger(c.port) || c.port < 0 || c.port > 65535)) {
    problems.push(`"port" must be an integer in 0..65535 (got ${JSON.stringify(c.port)})`);
  }
  if (c.peers === null || typeof c.peers !== 'object' || Array.isArray(c.peers)) {
    problems.push('"peers" must be an object mapping service name → sidecar base URL (use {} for none)');
  } else {
    for (const [name, u] of Object.entries(c.peers as Record<string, unknown>)) {
      try {
        new URL(String(u));
        if (typeof u !== 'string') throw new Error();
      } catch {
        problems.push(`"peers.${name}" must be an absolute URL (got ${JSON.stringify(u)})`);
      }
    }
  }
  if (c.refreshPolicy !== undefined && !(REFRESH_POLICY_NAMES as readonly unknown[]).includes(c.refreshPolicy)) {
    problems.push(`"refreshPolicy" must be one of ${REFRESH_POLICY_NAMES.join(', ')} (got ${JSON.stringify(c.refreshPolicy)})`);
  }
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);
  return c as unknown as SidecarConfig;
}

/** Reads and validates a JSON config file. */
export async function loadSidecarConfig(path: string): Promise<SidecarConfig> {
  return validateSidecarConfig(await readJsonFile(path, 'sidecar config'), path);
}
