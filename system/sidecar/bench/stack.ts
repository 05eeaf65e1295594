/**
 * What the sidecar benches share: a real stack (temporary PostgreSQL, the in-process identity issuer,
 * the IdP and sidecars as child processes, so each has its own pid and its own CPU account), process
 * CPU from /proc, and cleanup in reverse order. Benches print figures; they are not tests.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnComponent, type Component } from '../../../runner/platforms/local/child.js';
import { sendJson, waitForOk } from '../../../runner/platforms/local/http.js';
import { componentEntry } from '../../../runner/platforms/local/paths.js';
import { startTempPostgres, type LocalPostgres } from '../../../runner/platforms/local/postgres.js';
import { defaultGrants } from '../../../runner/platforms/local/topology.js';
import { processCpuUs, processTree } from '../../../runner/study/cpu.js';

export { processTree };
import { allowedCpus, pinProcess } from '../../../runner/study/pinning.js';
import { createIdentityIssuer, type IdentityIssuer } from '../../identity/issuer.js';
import { createTokenFileWriter } from '../../identity/token-files.js';
import { buildIdentityServer, IDENTITY_JWKS_PATH } from '../../identity/server.js';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../protocol/claims.js';
import { pairOf } from '../../protocol/endpoints.js';
import type { SignMode, VerifyMode } from '../../protocol/modes.js';
import type { ServiceSettings } from '../../protocol/settings.js';

export const BENCH_ADMIN = 'bench-admin-token-0123456789abcdef';

/** CPU seconds a process has used, all threads (runner/study/cpu.ts: schedstat, exact); null when it cannot be read. */
export async function cpuSecondsOf(pid: number | undefined): Promise<number | null> {
  const us = pid === undefined ? undefined : await processCpuUs(pid);
  return us === undefined ? null : us / 1e6;
}

/** Summed CPU seconds of several processes (null when one cannot be read). */
export async function cpuSecondsOfAll(pids: readonly number[]): Promise<number | null> {
  let sum = 0;
  for (const pid of pids) {
    const s = await cpuSecondsOf(pid);
    if (s === null) return null;
    sum += s;
  }
  return sum;
}

/** The 1-minute load average, as `uptime` prints it. */
export async function loadAverage(): Promise<string> {
  try {
    return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

/**
 * Where bench:sidecar pins its processes: the server under test alone on the last CPU this process
 * may use, everything else (the load generator in this process, PostgreSQL, the IdP) on the rest.
 * The reason instead when there are fewer than 2 CPUs ({@link pinPids} says so when taskset is missing).
 */
export function serverPinPlan(cpus = allowedCpus()): { server: number[]; rest: number[] } | { reason: string } {
  if (cpus === null || cpus.length < 2)
    return { reason: `not pinned: pinning needs at least 2 CPUs and this process may use ${cpus?.length ?? 'an unknown number of'}` };
  return { server: cpus.slice(-1), rest: cpus.slice(0, -1) };
}

/** Sets the CPU affinity of every thread of each pid ({@link pinProcess}); a pid gone meanwhile is skipped. */
export function pinPids(pids: readonly number[], cpus: readonly number[]): void {
  for (const pid of pids) {
    try {
      pinProcess(pid, cpus);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT')
        throw new Error('pinning needs taskset (util-linux) on PATH; run with --shared to measure without it', { cause: err });
      // exited between listing and pinning
    }
  }
}

export interface BenchSidecar {
  readonly service: string;
  /** Its current process's base URL (a restart listens on a new port). */
  readonly url: string;
  /** Its own database (a reference server can query the same rows). */
  readonly databaseUrl: string;
  /** Its current process. */
  readonly component: Component;
  /** Its Go data plane's outbound base URL and pid, when it runs one (as `/local/status` tells them). */
  dataPlane(): Promise<{ url: string; pid: number } | null>;
  /**
   * Stops this process and starts a fresh one of the same service — same config, database, grants and
   * settings (its overrides stay on the IdP), a new pid and port — and waits for its /readyz: a new draw
   * of what is fixed for a process's life (its JIT's choices, its memory layout).
   */
  restart(): Promise<void>;
}

export interface BenchStack {
  pg: LocalPostgres;
  idpUrl: string;
  issuer: IdentityIssuer;
  dir: string;
  /** Starts `service` as a child process (`--cpu-prof` into `profDir` when given) and waits for /readyz. */
  /** `dataPlane`: the built Go data plane to serve its outbound calls (data-plane.ts `buildGoProgram`). */
  sidecar(service: string, peers: Record<string, string>, profDir?: string, opts?: { dataPlane?: string }): Promise<BenchSidecar>;
  /**
   * Puts global modes (and per-service overrides, merged into the IdP's, which win over the global ones)
   * on the IdP and waits until every started sidecar has applied them.
   */
  setModes(signMode: SignMode, verifyMode: VerifyMode, services?: Record<string, ServiceSettings>): Promise<void>;
  /**
   * An access token of `caller` (naming its granted targets), from the IdP's token exchange, and when it
   * expires (ms since epoch, by this process's clock: the time of the request plus `expires_in`).
   */
  accessToken(caller: string): Promise<{ token: string; expiresAtMs: number }>;
  /** Pids of what serves the servers under test: PostgreSQL (postmaster and every backend now) and the IdP. */
  supportPids(): Promise<number[]>;
  close(): Promise<void>;
}

/** Node flags that write a V8 CPU profile into `dir` when the process exits; none without a dir. */
export function cpuProfArgs(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

export interface BenchStackOptions {
  /**
   * Lifetime of the service-account tokens the identity issuer mints, seconds (default the issuer's
   * 3,600). Each sidecar's token file is rewritten at 80 % of it, as the kubelet does.
   */
  saTokenTtlSeconds?: number;
}

/** Starts PostgreSQL, the identity issuer, the IdP (child) with pairs 1 and 2's grants (bench:overhead runs both pairs). */
export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  };
  try {
    const pg = await startTempPostgres();
    cleanups.push(() => pg.stop());
    const dir = await mkdtemp(join(tmpdir(), 'authlab-bench-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    let issuer: IdentityIssuer | undefined;
    const identity = buildIdentityServer({ issuer: () => issuer! });
    const issuerUrl = await identity.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => identity.close());
    issuer = createIdentityIssuer({ issuer: issuerUrl, ttlSeconds: options.saTokenTtlSeconds });
    const idp = await spawnComponent({
      name: 'idp',
      entry: componentEntry('idp'),
      configPath: join(dir, 'idp.json'),
      config: {
        host: '127.0.0.1',
        port: 0,
        databaseUrl: (await pg.createDatabase('idp')).url,
        adminToken: BENCH_ADMIN,
        trustedIssuers: [{ issuer: issuerUrl, jwksUri: `${issuerUrl}${IDENTITY_JWKS_PATH}` }],
      },
    });
    cleanups.push(() => idp.stop());
    for (const g of defaultGrants(2)) await sendJson('PUT', `${idp.url}/admin/grants`, BENCH_ADMIN, g);
    const started: BenchSidecar[] = [];
    const revisionOf = async (s: BenchSidecar): Promise<number> => {
      const res = await fetch(`${s.url}/local/status`);
      return ((await res.json()) as { revision: number }).revision;
    };
    return {
      pg,
      idpUrl: idp.url,
      issuer,
      dir,
      async sidecar(service, peers, profDir, opts = {}) {
        // Rewritten at 80 % of its life, as the kubelet does: a sidecar exchanges it again whenever its access
        // token is due, and a restarted one at once, so a bench longer than the token's hour keeps working.
        const tokenFile = createTokenFileWriter({
          issuer: issuer!,
          tokenDir: dir,
          services: [{ namespace: service, serviceAccount: service }],
        });
        await tokenFile.writeAll();
        cleanups.push(async () => tokenFile.stop());
        const saTokenPath = tokenFile.pathFor(service);
        const entry = componentEntry('sidecar');
        const databaseUrl = (await pg.createDatabase(service)).url;
        const spawn = async () => {
          const component = await spawnComponent({
            name: service,
            entry,
            nodeArgs: [...cpuProfArgs(profDir), '--import', 'tsx', entry],
            configPath: join(dir, `${service}.json`),
            config: {
              service,
              pair: pairOf(service) ?? 1,
              databaseUrl,
              idpUrl: idp.url,
              saTokenPath,
              peers,
              ...(opts.dataPlane ? { dataPlane: { binary: opts.dataPlane } } : {}),
            },
          });
          cleanups.push(() => component.stop());
          await waitForOk(`${component.url}/readyz`, { name: service });
          return component;
        };
        let component = await spawn();
        const s: BenchSidecar = {
          service,
          databaseUrl,
          get url() {
            return component.url;
          },
          get component() {
            return component;
          },
          async dataPlane() {
            const st = (await (await fetch(`${component.url}/local/status`)).json()) as { dataPlane: { url: string; pid: number } | null };
            return st.dataPlane ? { url: st.dataPlane.url, pid: st.dataPlane.pid } : null;
          },
          async restart() {
            await component.stop();
            component = await spawn();
          },
        };
        started.push(s);
        return s;
      },
      async setModes(signMode, verifyMode, services = {}) {
        const { revision } = await sendJson<{ revision: number }>('PUT', `${idp.url}/admin/settings`, BENCH_ADMIN, {
          global: { signMode, verifyMode },
          services,
        });
        const end = Date.now() + 20_000;
        for (const s of started) {
          while ((await revisionOf(s)) < revision) {
            if (Date.now() > end) throw new Error(`${s.service} did not apply settings revision ${revision} within 20 s`);
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      },
      async accessToken(caller) {
        const asked = Date.now();
        const res = await fetch(`${idp.url}/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: TOKEN_EXCHANGE_GRANT,
            subject_token: issuer!.mint({ namespace: caller, serviceAccount: caller }),
            subject_token_type: JWT_TOKEN_TYPE,
          }).toString(),
        });
        if (!res.ok) throw new Error(`token exchange for ${caller} failed: ${res.status} ${await res.text()}`);
        const body = (await res.json()) as { access_token: string; expires_in: number };
        return { token: body.access_token, expiresAtMs: asked + body.expires_in * 1000 };
      },
      async supportPids() {
        return [...(await processTree(pg.pid)), ...(idp.pid !== undefined ? [idp.pid] : [])];
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
