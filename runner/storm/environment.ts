import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createIdentityIssuer, type IdentityIssuer } from '../../system/identity/issuer.js';
import { buildIdentityServer, IDENTITY_JWKS_PATH } from '../../system/identity/server.js';
import { spawnComponent, type Component } from '../platforms/local/child.js';
import { sendJson } from '../platforms/local/http.js';
import { componentEntry } from '../platforms/local/paths.js';
import { freePort } from '../platforms/local/ports.js';
import { startTempPostgres } from '../platforms/local/postgres.js';

/** Names of the storm's virtual services and the one group that holds them all. */
export const STORM_GROUP = 'group:storm-fleet';
/** The service the fleet is granted to call (a grant is what makes the IdP issue a token). */
export const STORM_TARGET = 'storm-target';
export const stormServiceName = (i: number) => `storm-${String(i + 1).padStart(5, '0')}`;

/** Everything one storm runs against; `close()` leaves no process, port or temp dir behind. */
export interface StormEnvironment {
  /**
   * Whose IdP the storm drives: `dedicated` (its own, started for the storm on this host) or
   * `platform` (the platform's IdP, e.g. the kube platform's IdP pod, with the storm's issuer trusted).
   */
  kind: 'dedicated' | 'platform';
  idpUrl: string;
  tokenEndpoint: string;
  adminToken: string;
  /** One SA token per virtual service, index-aligned with `stormServiceName(i)`. */
  subjectTokens: string[];
  close(): Promise<void>;
}

export interface StormEnvironmentOptions {
  services: number;
  /** Access-token lifetime the IdP is set to, seconds (the IdP accepts 10..86400). */
  ttlSeconds: number;
  /** SA-token lifetime, seconds: must outlast the whole storm, since the fleet reuses its tokens. */
  subjectTtlSeconds: number;
  /** The dedicated IdP runs its Go token plane (this binary), and the storm's exchanges go to it (`--data-plane go`). */
  tokenPlane?: string;
  log?: (line: string) => void;
}

/**
 * Provisions a storm's world: embedded PostgreSQL, an in-process identity issuer whose discovery
 * and JWKS are served on 127.0.0.1, the real IdP as a child process trusting that issuer, one group
 * with every virtual service and one grant from the group, and one SA token per service.
 */
export async function provisionStormEnvironment(opts: StormEnvironmentOptions): Promise<StormEnvironment> {
  const log = opts.log ?? (() => {});
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    // Reverse order: the IdP goes before the JWKS server and database it depends on.
    const errors: unknown[] = [];
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'token storm teardown failed');
  };

  // Set when provisioning fails, so a mint running in the background stops early.
  let abandoned = false;
  try {
    const identityPort = await freePort();
    const issuerUrl = `http://127.0.0.1:${identityPort}`;
    const issuer: IdentityIssuer = createIdentityIssuer({ issuer: issuerUrl, ttlSeconds: opts.subjectTtlSeconds });
    const identityApp: FastifyInstance = buildIdentityServer({ issuer });
    await identityApp.listen({ host: '127.0.0.1', port: identityPort });
    closers.push(() => identityApp.close());

    // Minting is CPU work in this process while PostgreSQL and the IdP boot in theirs: overlap them.
    const names = Array.from({ length: opts.services }, (_, i) => stormServiceName(i));
    const minting = mintAll(issuer, names, opts.subjectTtlSeconds, () => abandoned);
    minting.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled

    const started = performance.now();
    const pg = await startTempPostgres().catch((err: Error) => {
      throw new Error(`could not start embedded PostgreSQL for the token storm: ${err.message}`, { cause: err });
    });
    closers.push(() => pg.stop());
    const idpDb = await pg.createDatabase('authlab_idp');
    log(`storm: postgres up (${Math.round(performance.now() - started)} ms)`);

    const adminToken = randomBytes(32).toString('base64url');
    // A child process, not an in-process app, so the IdP's CPU is its own and the harness's event
    // loop (10,000 token sources) cannot slow the server being measured.
    const configDir = await mkdtemp(join(tmpdir(), 'authlab-storm-idp-'));
    closers.push(() => rm(configDir, { recursive: true, force: true }));
    const idp: Component = await spawnComponent({
      name: 'idp',
      entry: componentEntry('idp'),
      configPath: join(configDir, 'idp.json'),
      config: {
        host: '127.0.0.1',
        port: 0,
        databaseUrl: idpDb.url,
        adminToken,
        trustedIssuers: [{ issuer: issuerUrl, jwksUri: `${issuerUrl}${IDENTITY_JWKS_PATH}` }],
        tokenTtlSeconds: opts.ttlSeconds,
        ...(opts.tokenPlane ? { tokenPlane: { binary: opts.tokenPlane } } : {}),
      },
      timeoutMs: 30_000,
    });
    // If the harness dies without tearing down, the IdP must not outlive it.
    const killOnExit = () => {
      if (!idp.exited) process.kill(idp.pid, 'SIGKILL');
    };
    process.once('exit', killOnExit);
    closers.push(async () => {
      process.removeListener('exit', killOnExit);
      await idp.stop();
    });
    log(`idp: listening on ${idp.url} (pid ${idp.pid})`);

    const tokenEndpoint = await prepareStormIdp({ url: idp.url, adminToken }, names, opts.ttlSeconds);
    if (opts.tokenPlane) log(`storm: exchanges go to the IdP's Go token plane at ${tokenEndpoint}`);

    const subjectTokens = await minting;
    log(`storm: ${names.length} SA tokens minted, IdP ready (${Math.round(performance.now() - started)} ms after PostgreSQL start)`);

    return { kind: 'dedicated', idpUrl: idp.url, tokenEndpoint, adminToken, subjectTokens, close };
  } catch (err) {
    abandoned = true;
    await close().catch(() => {});
    throw err;
  }
}

/**
 * Readies an IdP for the storm through its admin API: the storm's TTL, one group holding every
 * virtual service and one grant from it (a grant is what makes the IdP issue a token). Resolves with
 * the token endpoint from the IdP's discovery document: clients discover it, never guess it.
 */
export async function prepareStormIdp(
  idp: { url: string; adminToken: string; tokenEndpoint?: string },
  names: string[],
  ttlSeconds: number,
): Promise<string> {
  const admin = <T>(method: string, path: string, body?: unknown) => sendJson<T>(method, `${idp.url}${path}`, idp.adminToken, body);
  await admin('PUT', '/admin/settings', { global: { tokenTtlSeconds: ttlSeconds } });
  await admin('PUT', '/admin/groups', { group: STORM_GROUP, members: names });
  await admin('PUT', '/admin/grants', { caller: STORM_GROUP, target: STORM_TARGET, roles: ['read'] });
  // The platform knows where this host reaches the token plane (kind: its own port-forward).
  if (idp.tokenEndpoint) return idp.tokenEndpoint;
  const { token_endpoint: tokenEndpoint } = await admin<{ token_endpoint?: unknown }>('GET', '/.well-known/openid-configuration');
  if (typeof tokenEndpoint !== 'string') throw new Error(`IdP ${idp.url} discovery document has no token_endpoint`);
  // The document names the endpoint as the cluster sees it; through a port-forward (kind, --kubeconfig)
  // only `idp.url` answers from here, so its path is taken onto the address the runner reaches. On the
  // same host (a token plane on a port of its own) it is reached as named.
  const discovered = new URL(tokenEndpoint);
  const reachable = new URL(idp.url);
  return discovered.hostname === reachable.hostname
    ? tokenEndpoint
    : new URL(discovered.pathname + discovered.search, reachable).toString();
}

/** One SA token per service (RSA signing is synchronous: yield every 200 so I/O keeps flowing). */
export async function mintAll(issuer: IdentityIssuer, names: string[], ttlSeconds: number, abandoned: () => boolean): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < names.length; i++) {
    if (i % 200 === 0) {
      await new Promise((r) => setImmediate(r));
      if (abandoned()) throw new Error('provisioning failed; minting abandoned');
    }
    tokens.push(issuer.mint({ namespace: names[i]!, serviceAccount: 'default', ttlSeconds }));
  }
  return tokens;
}
