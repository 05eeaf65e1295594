import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EndpointsFile } from '../../../system/protocol/endpoints.js';
import { pairServices } from '../../../system/protocol/endpoints.js';
import { settingsForRunMode, type RunMode } from '../../../system/protocol/modes.js';
import type { Platform, ProvisionOptions } from '../platform.js';
import { launchesFor, type Launch } from './bundle.js';
import { prespawnComponent, type Component, type PendingComponent } from './child.js';
import { PlatformError } from './errors.js';
import { componentEntry } from './paths.js';
import { sendJson, waitForOk } from './http.js';
import { assertPortsFree, freePorts, LOOPBACK, retryOnBusyPort } from './ports.js';
import { findSetpriv } from './lifeline.js';
import { startPostgres, type LocalPostgres, type ServiceDatabase } from './postgres.js';
import { defaultGrants, servicesFor, type ServiceSpec } from './topology.js';
import { waitForRevision } from './pair-mode.js';
import { localFaults } from './faults.js';
import { startRedis, type LocalRedis } from './redis.js';
import { spawnComponent } from './child.js';
import { provisionStormEnvironment, type StormEnvironmentOptions } from '../../storm/environment.js';
import { TOKEN_PATH } from '../../../system/idp/routes/token-exchange.js';
import {
  createSupervisor,
  describeExit,
  type ComponentStatus,
  type PlatformEvent,
  type RestartPolicy,
  type Supervised,
} from './supervisor.js';

export { PlatformError } from './errors.js';

/** Options of the local platform. */
export interface LocalPlatformOptions extends ProvisionOptions {
  /**
   * First of a block of fixed ports (PostgreSQL, identity, IdP, then one per sidecar, 3 + 2 × pairs in
   * all); a busy one fails start-up with `ERR_PORT_BUSY`. Default: free ports picked at random below the
   * kernel's ephemeral range (`freePorts`); if another program takes one before its component binds it,
   * start-up is torn down and begins again on other ports (at most 3 times, `retryOnBusyPort`).
   */
  basePort?: number;
  /** Cancels start-up (everything started so far is torn down). */
  signal?: AbortSignal;
  /** Per-component start-up timeout, ms (default 60 000: generous for a loaded 2-core machine). */
  startTimeoutMs?: number;
  /** What to do when a process exits after start-up (default `on-failure`: start it again). */
  restart?: RestartPolicy;
  /**
   * Start a Redis server for the `heavy-cached` query (one ACL user and key prefix per service; the
   * port after the sidecars' when `basePort` is given). Default false: only scenarios that need it.
   */
  redis?: boolean;
  /** Called at once for every supervision event (after the platform's own log line). */
  onEvent?: (event: PlatformEvent, status: Readonly<Record<string, ComponentStatus>>) => void;
}

/** The local platform, with what a supervisor or test needs beyond {@link Platform}. */
export interface LocalPlatform extends Platform {
  readonly name: 'local';
  /** Temporary directory holding data, tokens and configs; removed by `close()`. */
  readonly workDir: string;
  /** Pids of every child process (PostgreSQL postmaster, identity, IdP, sidecars). */
  readonly pids: readonly number[];
  /** Wall time from the call to every sidecar ready, ms. */
  readonly startupMs: number;
  /** Milestones of start-up (e.g. `postgres ready`, `p1-a ready`), ms since the call. */
  readonly timings: Readonly<Record<string, number>>;
  events(): readonly PlatformEvent[];
  /** Each supervised process: pid, running/restarting/down, restarts, last event. */
  status(): Readonly<Record<string, ComponentStatus>>;
}

const token = () => randomBytes(24).toString('base64url');

/**
 * Provisions the auth system on 127.0.0.1 as child processes: one embedded PostgreSQL (one database and
 * role per service plus the IdP's), the identity issuer, the IdP with the default grants, and the
 * 2 × `pairs` sidecars, each ready (`/readyz` 200). Any failure, or an abort through `signal`, tears
 * down what was started and removes the temporary directory before the error is thrown.
 */
export async function startLocalPlatform(opts: LocalPlatformOptions): Promise<LocalPlatform> {
  const t0 = performance.now();
  // Fixed ports are the user's choice: a busy one is their error. Picked ones are picked again.
  if (opts.basePort) return startOnce(opts, t0);
  return retryOnBusyPort(() => startOnce(opts, t0), { signal: opts.signal, log: opts.log });
}

async function startOnce(opts: LocalPlatformOptions, t0: number): Promise<LocalPlatform> {
  const log = opts.log ?? (() => {});
  const services = servicesFor(opts.pairs);
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const signal = opts.signal;

  const dpCount = opts.dataPlane ? services.length : 0;
  const tokenPlaneBinary = opts.dataPlane?.tokenPlane;
  const portCount = 3 + services.length + (opts.redis ? 1 : 0) + (tokenPlaneBinary ? 1 : 0) + dpCount;
  const ports = opts.basePort ? Array.from({ length: portCount }, (_, i) => opts.basePort! + i) : await freePorts(portCount);
  if (opts.basePort)
    await assertPortsFree(ports, `free it or pick another --base-port (the local platform needs ports ${ports[0]}–${ports.at(-1)})`);
  const [pgPort, identityPort, idpPort, ...sidecarPorts] = ports.slice(0, 3 + services.length) as [number, number, number, ...number[]];
  const redisPort = opts.redis ? ports[3 + services.length]! : null;
  // Fixed too: discovery names it as the token endpoint, and a restarted IdP must name the same one.
  const tokenPlanePort = tokenPlaneBinary ? ports[3 + services.length + (opts.redis ? 1 : 0)]! : null;
  const sidecarUrl = new Map(services.map((s, i) => [s.name, `http://${LOOPBACK}:${sidecarPorts[i]}`]));
  // Fixed like the sidecars' own, so a restarted sidecar's data plane listens where the load goes.
  const dataPlanePorts = ports.slice(portCount - dpCount);
  const dataPlaneUrl = new Map(services.map((s, i) => [s.name, `http://${LOOPBACK}:${dataPlanePorts[i]}`]));

  const workDir = opts.workDir
    ? (await mkdir(opts.workDir, { recursive: true }), opts.workDir)
    : await mkdtemp(join(tmpdir(), 'authlab-local-'));
  // As root PostgreSQL runs as the `postgres` user, which must be able to enter the directory.
  await chmod(workDir, 0o755);
  const tokenDir = join(workDir, 'tokens');
  const configDir = join(workDir, 'config');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await mkdir(tokenDir, { recursive: true, mode: 0o700 });
  log(`work dir ${workDir} (configs, tokens, PostgreSQL data; removed at teardown)`);
  if (findSetpriv() === null) {
    log(
      'setpriv (util-linux) not found: children would outlive this process if it were killed with SIGKILL; `authlab down` still stops them',
    );
  }

  // Bundling (tens of ms each) runs while PostgreSQL initialises; see bundle.ts for why.
  const launches = launchesFor(['identity', 'idp', 'sidecar']).catch(() => new Map<string, Launch>());
  const pending = new Map<string, PendingComponent>();
  const timings: Record<string, number> = {};
  // Every component process starts now and loads its code while PostgreSQL initialises; each then
  // waits for its config (child.ts `early`), handed over once what it depends on is ready.
  const prespawned = (async () => {
    const launch = await launches;
    const specs: [string, string][] = [
      ['identity', 'identity'],
      ['idp', 'idp'],
      ...services.map((s): [string, string] => [s.name, 'sidecar']),
    ];
    for (const [name, component] of specs) {
      if (signal?.aborted) return;
      const configPath = join(configDir, `${name}.json`);
      pending.set(
        name,
        await prespawnComponent({ name, entry: componentEntry(component), nodeArgs: launch.get(component)?.args, configPath }),
      );
    }
  })();
  prespawned.catch(() => {}); // awaited (and reported) by the first spawn; never an unhandled rejection
  let postgres: LocalPostgres | undefined;
  let redis: LocalRedis | undefined;
  let closed: Promise<void> | undefined;
  const configs = new Map<string, unknown>();
  const supervisor = createSupervisor({
    policy: opts.restart ?? 'on-failure',
    onEvent(e, status) {
      const what =
        e.kind === 'exited'
          ? `${e.component} (pid ${e.pid}) exited unexpectedly (${e.detail})${(opts.restart ?? 'on-failure') === 'no' ? '; not restarting (--restart no)' : '; restarting'}`
          : e.kind === 'restarted'
            ? `${e.component} restarted (pid ${e.pid}, ${e.detail})`
            : `${e.component} is down: ${e.detail}`;
      log(what);
      opts.onEvent?.(e, status);
    },
  });
  const close = () =>
    (closed ??= (async () => {
      supervisor.stop();
      const c0 = performance.now();
      await launches; // its esbuild helper process must be gone too
      await prespawned.catch(() => {});
      // Sidecars first: they close their settings streams and database pools, so the IdP then has no
      // long-lived connection to drain. PostgreSQL last, once nobody holds a connection.
      const stop = async (list: PendingComponent[]) => {
        const how = await Promise.all(list.map((c) => c.stop()));
        const killed = list.filter((_, i) => how[i] === 'killed').map((c) => c.name);
        if (killed.length) log(`killed ${killed.join(', ')} (no exit within 5 s of SIGTERM)`);
      };
      const all = [...pending.values()];
      const control = (c: PendingComponent) => c.name === 'idp' || c.name === 'identity';
      await stop(all.filter((c) => !control(c)));
      await stop(all.filter(control));
      await redis?.stop();
      await postgres?.stop();
      await rm(workDir, { recursive: true, force: true });
      log(`torn down in ${ms(c0)} ms`);
    })());

  try {
    const adminToken = token();
    const issuer = `http://${LOOPBACK}:${identityPort}`;

    const spawn = async (name: string, config: unknown): Promise<Component> => {
      checkAborted(signal);
      await prespawned;
      checkAborted(signal);
      const p = pending.get(name);
      if (!p) throw new Error(`internal: ${name} was not prepared`);
      configs.set(name, config);
      return p.configure(config, { timeoutMs, signal });
    };
    /** Watches a started component; a restart runs it again with the same config (so the same port). */
    const supervise = (first: Component, component: string, readyPath: string | null): void => {
      let current = first;
      const s: Supervised = {
        name: first.name,
        url: first.url,
        pid: () => current.pid,
        exited: () => current.closed.then(describeExit),
        async restart() {
          const launch = await launches;
          const next = await spawnComponent({
            name: first.name,
            entry: componentEntry(component),
            nodeArgs: launch.get(component)?.args,
            // Not the start-up FIFO (nobody reads it any more): a plain file beside it.
            configPath: join(configDir, `${first.name}.restart.json`),
            config: configs.get(first.name),
            timeoutMs,
          });
          current = next;
          // close() stops whatever runs now under this name.
          pending.set(first.name, {
            name: next.name,
            pid: next.pid,
            stop: (g) => next.stop(g),
            configure: () => Promise.reject(new Error('running')),
          });
          if (readyPath) await waitForOk(`${next.url}${readyPath}`, { name: next.name, timeoutMs });
        },
      };
      supervisor.watch(s);
    };

    // PostgreSQL and the identity issuer do not depend on each other: start both at once.
    const identityP = spawn('identity', {
      host: LOOPBACK,
      port: identityPort,
      issuer,
      tokenDir,
      services: services.map((s) => ({ namespace: s.name, serviceAccount: s.name })),
    }).then((c) => ((timings['identity listening'] = ms(t0)), c));
    const pgP = startPostgres({ dir: join(workDir, 'pg'), port: pgPort }).then(
      (p) => ((timings['postgres ready'] = ms(t0)), (postgres = p)),
    );
    // The IdP needs PostgreSQL, not the identity issuer (it fetches the JWKS on first use): only the
    // sidecars, which read the token files, wait for identity.
    identityP.catch(() => {}); // awaited below; if PostgreSQL fails first it must not go unhandled
    const redisP =
      redisPort === null
        ? Promise.resolve(undefined)
        : startRedis({ dir: join(workDir, 'redis'), port: redisPort, services: services.map((s) => s.name) }).then((r) => {
            log(`redis ready on port ${redisPort} (one ACL user per service)`);
            return (redis = r);
          });
    redisP.catch(() => {}); // awaited before the sidecars start
    const pgServer = await pgP;
    log(`postgres ready on port ${pgPort} (${ms(t0)} ms)`);
    checkAborted(signal);
    await pgServer.lockDownDefaults();

    const idpDb = await pgServer.createDatabase('idp');
    timings['idp database created'] = ms(t0);
    const idpP = spawn('idp', {
      host: LOOPBACK,
      port: idpPort,
      databaseUrl: idpDb.url,
      adminToken,
      trustedIssuers: [{ issuer, jwksUri: `${issuer}/openid/v1/jwks` }],
      tokenTtlSeconds: opts.tokenTtlSeconds ?? 300,
      // Default modes of a fresh platform: sign on, verify enforce (docs/DESIGN.md §3 "CLI").
      initialSettings: { global: { signMode: 'on', verifyMode: 'enforce', tokenTtlSeconds: opts.tokenTtlSeconds ?? 300 }, services: {} },
      ...(tokenPlaneBinary ? { tokenPlane: { binary: tokenPlaneBinary, port: tokenPlanePort! } } : {}),
    }).then((c) => ((timings['idp listening'] = ms(t0)), c));
    // Service databases are created while the IdP boots.
    const dbsP = Promise.all(services.map((s) => pgServer.createDatabase(s.database))).then(
      (d) => ((timings['service databases created'] = ms(t0)), d),
    );
    const [idpR, dbsR, identityR] = await Promise.allSettled([idpP, dbsP, identityP]);
    if (identityR.status === 'rejected') throw identityR.reason; // started first, so failed first
    if (idpR.status === 'rejected') throw idpR.reason;
    if (dbsR.status === 'rejected') throw dbsR.reason;
    const idp = idpR.value;
    const dbs = new Map(services.map((s, i) => [s.name, dbsR.value[i] as ServiceDatabase]));
    await waitForOk(`${idp.url}/.well-known/openid-configuration`, { name: 'idp', timeoutMs, signal });
    timings['idp ready'] = ms(t0);
    log(`idp ready at ${idp.url} (${ms(t0)} ms)`);

    checkAborted(signal);
    // Grants go in before any sidecar exists, so every first token already carries its roles.
    for (const g of defaultGrants(opts.pairs)) await sendJson('PUT', `${idp.url}/admin/grants`, adminToken, g);

    timings['grants set'] = ms(t0);
    const localAdminToken = token();
    const peersOf = (self: string) =>
      Object.fromEntries(services.filter((s) => s.name !== self).map((s) => [s.name, sidecarUrl.get(s.name)!]));
    const saTokenPath = (s: ServiceSpec) => join(tokenDir, s.name, 'token');
    const redisServer = await redisP;
    const sidecarResults = await Promise.allSettled(
      services.map(async (s, i) => {
        const c = await spawn(s.name, {
          host: LOOPBACK,
          port: sidecarPorts[i],
          service: s.name,
          pair: s.pair,
          databaseUrl: dbs.get(s.name)!.url,
          idpUrl: idp.url,
          saTokenPath: saTokenPath(s),
          peers: peersOf(s.name),
          localAdminToken,
          ...(redisServer ? { redis: redisServer.users.get(s.name)! } : {}),
          ...(opts.dataPlane ? { dataPlane: { binary: opts.dataPlane.binary, port: dataPlanePorts[i]! } } : {}),
        });
        timings[`${s.name} listening`] = ms(t0);
        await waitForOk(`${c.url}/readyz`, { name: s.name, timeoutMs, signal });
        timings[`${s.name} ready`] = ms(t0);
        return c;
      }),
    );
    const failed = sidecarResults.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // From here on an exit nobody asked for is reported at once and handled by the restart policy.
    const pgHandle = pgServer;
    supervisor.watch({
      name: 'postgres',
      pid: () => pgHandle.pid,
      exited: () => pgHandle.exited().then(describeExit),
      restart: () => pgHandle.restart(),
    });
    supervise(identityR.value, 'identity', null);
    supervise(idp, 'idp', '/.well-known/openid-configuration');
    // A restarted sidecar is waited on as a live process (/healthz): its readiness may wait for the IdP.
    for (const r of sidecarResults) if (r.status === 'fulfilled') supervise(r.value, 'sidecar', '/healthz');
    const startupMs = Math.round(performance.now() - t0);
    log(`${services.length} sidecars ready; start-up took ${startupMs} ms`);

    const endpoints: EndpointsFile = {
      idp: { url: idp.url, ...(tokenPlanePort ? { tokenEndpoint: `http://${LOOPBACK}:${tokenPlanePort}${TOKEN_PATH}` } : {}) },
      admin: { token: adminToken },
      postgres: { url: pgServer.url },
      services: services.map((s) => ({
        name: s.name,
        pair: s.pair,
        url: sidecarUrl.get(s.name)!,
        ...(opts.dataPlane ? { dataPlaneUrl: dataPlaneUrl.get(s.name)! } : {}),
        saTokenPath: saTokenPath(s),
        database: s.database,
      })),
    };
    const urlOf = (name: string) => sidecarUrl.get(name) ?? fail(`no service named ${name}`);
    const checkPair = (pair: number) => {
      if (!Number.isInteger(pair) || pair < 1 || pair > opts.pairs) fail(`pair must be 1..${opts.pairs} (got ${pair})`);
      return pairServices(pair);
    };

    return {
      name: 'local',
      ...(opts.dataPlane ? { dataPlane: 'go' as const } : {}),
      endpoints,
      workDir,
      startupMs,
      timings,
      get pids() {
        return [
          ...(postgres ? [postgres.pid] : []),
          ...(redis ? [redis.pid] : []),
          ...[...pending.values()].flatMap((c) => (c.pid ? [c.pid] : [])),
        ];
      },
      events: () => supervisor.events(),
      faults: localFaults(supervisor, pgServer.url),
      status: () => supervisor.status(),
      // The supervisor knows the current pid, also after a restart.
      componentPid: (name: string) => supervisor.status()[name]?.pid ?? pending.get(name)?.pid,
      // --data-plane go: the storm's own IdP runs a token plane too, so the storm measures what the study runs.
      ...(tokenPlaneBinary
        ? { stormEnvironment: (so: StormEnvironmentOptions) => provisionStormEnvironment({ ...so, tokenPlane: tokenPlaneBinary }) }
        : {}),
      targetUrl(pair, mode) {
        const [a, b] = checkPair(pair);
        if (mode === 'direct') return `${urlOf(b)}/query`;
        return `${opts.dataPlane ? dataPlaneUrl.get(a)! : urlOf(a)}/call/${b}/query`;
      },
      async setPairMode(pair: number, mode: RunMode) {
        const [a, b] = checkPair(pair);
        const s = settingsForRunMode(mode);
        const res = await sendJson<{ revision: number }>('PUT', `${idp.url}/admin/settings`, adminToken, {
          services: { [a]: s, [b]: s },
        });
        await Promise.all([a, b].map((name) => waitForRevision(urlOf(name), localAdminToken, res.revision, name)));
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PlatformError('ERR_ABORTED', 'start-up of the local platform was interrupted');
}

function ms(t0: number): number {
  return Math.round(performance.now() - t0);
}

function fail(message: string): never {
  throw new RangeError(message);
}
