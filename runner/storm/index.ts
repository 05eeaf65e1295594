import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import type { TokenStormRecord } from '../../results/schema.js';
import { createExchangeFetch, REFRESH_POLICY_NAMES, systemClock, type RefreshPolicyName } from '../../system/sidecar/token/index.js';
import { provisionStormEnvironment, type StormEnvironment, type StormEnvironmentOptions } from './environment.js';
import { AuthlabError } from '../../system/protocol/errors.js';
import { readIdpTokenResults } from './idp-counter.js';
import { requestFetch } from './request-fetch.js';
import { runPolicyStorm, type PolicyRunResult } from './policy-run.js';

export interface TokenStormOptions {
  /** Virtual services, each a real token source with its own SA token. */
  services: number;
  /** Access-token lifetime the IdP issues, seconds (10..86400). */
  ttlSeconds: number;
  /** Refresh policies to compare, each with its own cold start and steady state. */
  policies: string[];
  /** Length of the measured steady state, in token lifetimes. */
  steadyLifetimes: number;
  /**
   * Lifetimes after the cold start that are plotted but not in peak/mean, because their refresh
   * waves are the cold start's echo (with `window`, the first wave is 1.75× the long-run rate
   * whatever the IdP does). Default 0.
   */
  settleLifetimes?: number;
  /** Keep-alive connections from the whole fleet to the IdP. Default 64. */
  connections?: number;
  /** Series and peak bucket, ms. Default 1000. */
  bucketMs?: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Sees every IdP response of the storm, by policy, as it arrives (the runner's live series). */
  onIdpResponse?: (policy: string) => void;
  /**
   * Not supported: the storm provisions its own IdP, because the IdP must trust the storm's own
   * identity issuer and hold a grant for 10,000 made-up services. Passing it is an error.
   */
  idpUrl?: string;
  /**
   * Provisions the storm's world instead of {@link provisionStormEnvironment}: a platform whose IdP
   * can trust the storm's issuer (the kube platform) passes its own, so the storm drives that IdP.
   */
  environment?: (o: StormEnvironmentOptions) => Promise<StormEnvironment>;
}

/** What one exchange may take once it is on a connection, ms (the sidecar's own default). */
const EXCHANGE_TIMEOUT_MS = 10_000;
/** Exchanges made before the first policy and not measured (see `warmUp`). */
const WARM_UP_EXCHANGES = 1_000;

/** Records plus what the IdP itself counted per policy (cross-check of the client-side count). */
export interface TokenStormDetail extends PolicyRunResult {
  /** Increase of the IdP's `token_result_total` (all results) during this policy's run. */
  idpCountedRequests: number;
  /**
   * Longest stall of the harness's event loop during this policy, ms. A stall delays timers and
   * responses alike, then releases them together: a spike in the series next to a long stall is
   * the machine's, not the policy's.
   */
  harnessLoopDelayMaxMs: number;
  /** Where the storm's IdP listened (a dedicated one is gone once the storm returns). */
  idpUrl: string;
}

/**
 * Token storm against the real IdP (docs/DESIGN.md §3 "Engines"): provisions PostgreSQL, an identity
 * issuer and the IdP, then per policy a cold start of `services` token sources followed by a
 * steady state, and tears everything down. Resolves with one record per policy.
 */
export async function runTokenStorm(opts: TokenStormOptions): Promise<TokenStormRecord[]> {
  return (await runTokenStormDetailed(opts)).map((d) => d.record);
}

/** As {@link runTokenStorm}, with per-policy details for tests and the bench. */
export async function runTokenStormDetailed(opts: TokenStormOptions): Promise<TokenStormDetail[]> {
  const policies = validate(opts);
  const log = opts.log ?? (() => {});
  const settle = opts.settleLifetimes ?? 0;
  // SA tokens are minted once and reused by every policy: they must outlive the whole storm.
  const perPolicyS = (settle + opts.steadyLifetimes + 1) * opts.ttlSeconds + 180;
  const subjectTtlSeconds = Math.max(3600, 2 * policies.length * perPolicyS);

  const env = await (opts.environment ?? provisionStormEnvironment)({
    services: opts.services,
    ttlSeconds: opts.ttlSeconds,
    subjectTtlSeconds,
    log,
  });
  // One bounded pool for the whole fleet: 10,000 sockets would measure the kernel, not the IdP.
  const agent = new Agent({
    connections: opts.connections ?? 64,
    pipelining: 1,
    headersTimeout: EXCHANGE_TIMEOUT_MS,
    bodyTimeout: EXCHANGE_TIMEOUT_MS,
  });
  const fetchFor = (i: number) =>
    createExchangeFetch({
      tokenEndpoint: env.tokenEndpoint,
      getSubjectToken: () => env.subjectTokens[i]!,
      dispatcher: agent,
      fetch: requestFetch,
      // A real sidecar has its own connection; here a request may first queue behind the
      // fleet in the shared pool, which is the harness's doing. So the IdP's own time is
      // bounded by the agent's headers/body timeouts (from when the request is on a socket),
      // and this whole-exchange timeout is only a backstop.
      timeoutMs: 300_000,
    });
  const details: TokenStormDetail[] = [];
  try {
    await warmUp(fetchFor, Math.min(opts.services, WARM_UP_EXCHANGES), log);
    for (const policy of policies) {
      opts.signal?.throwIfAborted();
      const before = await readIdpTokenResults(env.idpUrl);
      const loopDelay = monitorEventLoopDelay({ resolution: 20 });
      loopDelay.enable();
      const result = await runPolicyStorm({
        policy,
        services: opts.services,
        ttlSeconds: opts.ttlSeconds,
        steadyLifetimes: opts.steadyLifetimes,
        settleLifetimes: settle,
        ...(opts.bucketMs ? { bucketMs: opts.bucketMs } : {}),
        fetchFor,
        clock: systemClock,
        nowMs: () => performance.now(),
        sleep: (ms) => sleep(ms),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onIdpResponse ? { onIdpResponse: opts.onIdpResponse } : {}),
        log,
      });
      loopDelay.disable();
      const harnessLoopDelayMaxMs = Math.round(loopDelay.max / 1e6);
      log(
        `storm[${policy}]: harness event-loop delay max ${harnessLoopDelayMaxMs} ms, p99 ${Math.round(loopDelay.percentile(99) / 1e6)} ms`,
      );
      const after = await readIdpTokenResults(env.idpUrl);
      const idpCountedRequests = after.total - before.total;
      const clientCounted = result.record.issued + result.record.failed;
      if (idpCountedRequests !== clientCounted) {
        const delta = Object.entries(after.byResult).map(([k, v]) => `${k} ${v - (before.byResult[k] ?? 0)}`);
        log(`storm[${policy}]: note: the IdP counted ${idpCountedRequests} exchanges (${delta.join(', ')}), the fleet ${clientCounted}`);
      }
      details.push({
        ...result,
        record: { ...result.record, idp: env.kind },
        idpCountedRequests,
        harnessLoopDelayMaxMs,
        idpUrl: env.idpUrl,
      });
      // Let the IdP's CPU and GC calm down so one policy's tail does not shape the next one's start.
      await sleep(500);
    }
    return details;
  } finally {
    await agent.close().catch(() => {});
    await env.close();
  }
}

/**
 * Exchanges made and discarded before the first policy: JIT, connection set-up and the IdP's JWKS
 * fetch would otherwise slow the first policy's cold start only, and policies must be comparable.
 * Also fails fast, with the IdP's words, when it does not issue the fleet's tokens at all.
 */
async function warmUp(fetchFor: (i: number) => () => Promise<unknown>, count: number, log: (line: string) => void): Promise<void> {
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => fetchFor(i)()));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    const n = results.filter((r) => r.status === 'rejected').length;
    throw new Error(
      `token storm: ${n}/${count} warm-up exchanges failed, e.g. ${(failure.reason as Error).message}; check the IdP's log and grants`,
      { cause: failure.reason },
    );
  }
  log(`storm: warm-up ${count} exchanges (${Math.round(performance.now() - started)} ms, not measured)`);
}

function validate(opts: TokenStormOptions): RefreshPolicyName[] {
  // The options come from a scenario file: a bad one is the user's to fix (exit 2), like any scenario.
  const fail = (msg: string): never => {
    throw new AuthlabError('ERR_SCENARIO_INVALID', `token storm: ${msg}`);
  };
  if (opts.idpUrl !== undefined) {
    fail('idpUrl is not supported: the storm starts its own IdP so it can trust its own identity issuer; omit idpUrl');
  }
  if (!Number.isInteger(opts.services) || opts.services < 1 || opts.services > 100_000) {
    fail(`services must be an integer 1..100000 (got ${opts.services})`);
  }
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 10 || opts.ttlSeconds > 86_400) {
    fail(`ttlSeconds must be an integer 10..86400, the IdP's accepted range (got ${opts.ttlSeconds})`);
  }
  if (!(opts.steadyLifetimes > 0) || opts.steadyLifetimes > 100) {
    fail(`steadyLifetimes must be a number in (0, 100] (got ${opts.steadyLifetimes})`);
  }
  if (opts.settleLifetimes !== undefined && !(opts.settleLifetimes >= 0 && opts.settleLifetimes <= 100)) {
    fail(`settleLifetimes must be a number in [0, 100] (got ${opts.settleLifetimes})`);
  }
  if (opts.policies.length === 0) fail(`policies must name at least one of ${REFRESH_POLICY_NAMES.join(', ')}`);
  for (const p of opts.policies) {
    if (!(REFRESH_POLICY_NAMES as readonly string[]).includes(p)) {
      fail(`unknown policy '${p}': use ${REFRESH_POLICY_NAMES.join(', ')}`);
    }
  }
  return opts.policies as RefreshPolicyName[];
}
