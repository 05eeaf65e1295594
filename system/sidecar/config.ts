import { FormatRegistry, Type } from '@sinclair/typebox';
import { checkSchema } from '../protocol/check.js';
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
  /**
   * Redis for the `heavy-cached` query: the service's own ACL user (in `url`) and the key prefix it
   * may use. Without it `heavy-cached` runs like `heavy`.
   */
  redis?: { url: string; prefix: string };
  /**
   * Export `authlab_pg_*` (size, table sizes, connections) of its own database, read at most every
   * 5 s at scrape time. Set on kube and kind, where the runner cannot reach the service databases;
   * on the local platform the runner reads them as the superuser instead.
   */
  postgresStats?: boolean;
  /**
   * Serve outbound calls from the Go data plane (system/sidecar/data-plane.ts): `binary` is the built
   * `dataplane` program, `port` where it listens (default 0: the OS picks; the ListeningLine and
   * `/local/status` tell the URL). The sidecar's own `/call` keeps working beside it.
   */
  dataPlane?: { binary: string; port?: number };
}

/** An absolute URL, as `new URL()` accepts it. */
const URL_FORMAT = 'absolute-url';
if (!FormatRegistry.Has(URL_FORMAT)) {
  FormatRegistry.Set(URL_FORMAT, (v) => {
    try {
      new URL(v);
      return true;
    } catch {
      return false;
    }
  });
}

const nonEmpty = () => Type.String({ minLength: 1, mustBe: 'must be a non-empty string' });
const absoluteUrl = (secret = false) => Type.String({ minLength: 1, format: URL_FORMAT, mustBe: 'must be an absolute URL', secret });

/** What `validateSidecarConfig` accepts; unknown fields are tolerated. */
const SidecarConfigSchema = Type.Object(
  {
    host: Type.Optional(nonEmpty()),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, mustBe: 'must be an integer in 0..65535' })),
    service: nonEmpty(),
    pair: Type.Integer({ minimum: 0, mustBe: 'must be a non-negative integer' }),
    databaseUrl: absoluteUrl(true),
    idpUrl: absoluteUrl(),
    saTokenPath: nonEmpty(),
    peers: Type.Record(Type.String(), absoluteUrl(), {
      mustBe: 'must be an object mapping service name → sidecar base URL (use {} for none)',
    }),
    refreshPolicy: Type.Optional(
      Type.Union(
        REFRESH_POLICY_NAMES.map((n) => Type.Literal(n)),
        { mustBe: `must be one of ${REFRESH_POLICY_NAMES.join(', ')}` },
      ),
    ),
    localAdminToken: Type.Optional(Type.String({ minLength: 1, mustBe: 'must be a non-empty string', secret: true })),
    postgresStats: Type.Optional(Type.Boolean({ mustBe: 'must be true or false' })),
    dataPlane: Type.Optional(
      Type.Object(
        {
          binary: nonEmpty(),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, mustBe: 'must be an integer in 0..65535' })),
        },
        { mustBe: 'must be a JSON object {"binary": "<path to the built dataplane program>", "port": 0}' },
      ),
    ),
    redis: Type.Optional(
      Type.Object(
        { url: absoluteUrl(true), prefix: nonEmpty() },
        { mustBe: 'must be a JSON object {"url": "redis://user:password@host:port", "prefix": "<service>:"}' },
      ),
    ),
  },
  { mustBe: 'must be a JSON object with service, pair, databaseUrl, idpUrl, saTokenPath, peers' },
);

/** Validates a parsed config; throws one message naming every problem and how to fix it. */
export function validateSidecarConfig(raw: unknown, source = 'config'): SidecarConfig {
  return checkSchema(SidecarConfigSchema, raw, (problems) => {
    throw new Error(`${source}: ${problems.join('; ')}`);
  }) as SidecarConfig;
}

/** Reads and validates a JSON config file. */
export async function loadSidecarConfig(path: string): Promise<SidecarConfig> {
  return validateSidecarConfig(await readJsonFile(path, 'sidecar config'), path);
}
