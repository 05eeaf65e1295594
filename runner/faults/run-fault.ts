import { AuthlabError } from '../../system/protocol/errors.js';
import type { FaultRecord } from '../../results/schema.js';
import type { FaultActions, FaultScenario } from '../../scenarios/scenario.js';
import { sendJson } from '../platforms/local/http.js';
import type { Platform } from '../platforms/platform.js';
import { startDriver } from './driver.js';
import { waitSidecarsReady } from './ready.js';
import { summariseFault } from './summary.js';

/** The pair a fault run loads (the fault itself may reach every pair: IdP and PostgreSQL are shared). */
const FAULT_PAIR = 1;
const MODE = 'enforce' as const;
/** A light read through the caller's sidecar: the token path is exercised on every request. */
const BODY = JSON.stringify({ query: 'light', params: { id: 1 } });

export interface FaultRunOptions {
  scenario: FaultScenario;
  platform: Platform;
  quick: boolean;
  log: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Runs one fault scenario: pair 1 in enforce mode under steady load (a light read through the
 * caller's sidecar, every request logged), the fault injected after the profile's `beforeS`, load
 * kept up for `afterS` after the fault is over; then the log is summarised and judged.
 *
 * @throws AuthlabError ERR_SCENARIO_PLATFORM when the platform cannot inject faults.
 */
export async function runFaultScenario(o: FaultRunOptions): Promise<FaultRecord> {
  const { scenario: s, platform } = o;
  const faults = platform.faults;
  if (!faults && s.needs?.includes('outage')) {
    throw new AuthlabError(
      'ERR_SCENARIO_PLATFORM',
      `scenario '${s.name}' stops a component's process, which the ${platform.name} platform cannot do from here; run it with --platform local or kube`,
    );
  }
  const profile = o.quick ? s.quick : s.full;
  const idp = platform.endpoints.idp.url;
  const admin = platform.endpoints.admin.token;
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const jwksKids = async () => {
    const res = await fetch(`${idp}/.well-known/jwks.json`, { signal: AbortSignal.timeout(5_000) });
    return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  };
  const setTtl = (seconds: number) => sendJson('PUT', `${idp}/admin/settings`, admin, { global: { tokenTtlSeconds: seconds } });
  const refreshAll = () => sendJson('POST', `${idp}/admin/refresh-tokens`, admin, {});

  await platform.setPairMode(FAULT_PAIR, MODE);
  const before = (await sendJson<{ tokenTtlSeconds?: number; global?: { tokenTtlSeconds: number } }>('GET', `${idp}/admin/settings`, admin))
    .global?.tokenTtlSeconds;
  if (s.tokenTtlSeconds !== undefined) {
    await setTtl(s.tokenTtlSeconds);
    await refreshAll();
    await sleep(1_000);
  }
  o.signal?.throwIfAborted();
  // Start from a healthy pair: the previous fault may have left a sidecar reconnecting to the IdP.
  const pairUrls = Object.fromEntries(
    platform.endpoints.services.filter((x) => x.pair === FAULT_PAIR).map((x) => [x.name, x.url] as const),
  );
  const waitedMs = await waitSidecarsReady({ sidecars: pairUrls, ...(o.signal ? { signal: o.signal } : {}) });
  if (waitedMs >= 1_000)
    o.log(`${s.name}: waited ${(waitedMs / 1000).toFixed(1)} s for ${Object.keys(pairUrls).join(' and ')} to be ready`);
  const eventsBefore = platform.events?.().length ?? 0;
  const url = platform.targetUrl(FAULT_PAIR, MODE);
  o.log(
    `${s.name}: ${profile.rateRps} req/s over ${profile.connections} connection(s) at pair ${FAULT_PAIR} (${MODE}); fault after ${profile.beforeS} s`,
  );
  const driver = startDriver({ url, body: BODY, rateRps: profile.rateRps, connections: profile.connections });
  const now = () => performance.now() - driver.t0;
  const fromEpoch = (at: number) => at - driver.epoch0;
  const actions: FaultActions = {
    now,
    sleep,
    async outage(component, holdMs) {
      if (!faults) throw new Error(`scenario '${s.name}' stops a component but does not declare needs: ['outage']`);
      const t = await faults.outage(component, holdMs);
      return {
        subject: t.subject,
        downMs: fromEpoch(t.downAt),
        upMs: fromEpoch(t.upAt),
        ...(t.acceptingAt !== undefined ? { acceptingMs: fromEpoch(t.acceptingAt) } : {}),
      };
    },
    refreshAllTokens: async () => void (await refreshAll()),
    async rotateKeys() {
      const r = await sendJson<{ keys?: { current?: string } }>('POST', `${idp}/admin/keys/rotate`, admin, {});
      return { current: r.keys?.current ?? '', published: await jwksKids() };
    },
    async retireKey(kid) {
      for (const end = Date.now() + 10_000; ;) {
        try {
          await sendJson('POST', `${idp}/admin/keys/retire`, admin, { kid });
          return { published: await jwksKids() };
        } catch (err) {
          // 409: a sidecar still holds a token that key signed (its refresh is under way).
          if (!/409|ERR_CONFLICT/.test((err as Error).message) || Date.now() > end) throw err;
          await sleep(200);
        }
      }
    },
    previousKids: async () =>
      (await sendJson<{ keys: { previous: string[] } }>('GET', `${idp}/admin/status?tokens=0`, admin)).keys.previous,
    setTokenTtl: async (seconds) => void (await setTtl(seconds)),
    publishedKids: jwksKids,
    log: (line) => o.log(`  ${line}`),
  };
  let log;
  let window;
  try {
    await sleep(profile.beforeS * 1000);
    window = await s.inject(actions, o.quick);
    await sleep(profile.afterS * 1000);
  } finally {
    log = await driver.stop();
    if (s.tokenTtlSeconds !== undefined && before !== undefined) await setTtl(before).catch(() => {});
  }
  const summary = summariseFault(log, window, s.target);
  const events = (platform.events?.() ?? []).slice(eventsBefore).map((e) => `${e.at} ${e.component} ${e.kind} (pid ${e.pid}): ${e.detail}`);
  const record: FaultRecord = {
    scenario: s.name,
    fault: window.fault,
    pair: FAULT_PAIR,
    mode: MODE,
    rateRps: profile.rateRps,
    connections: profile.connections,
    startedAt: new Date(driver.epoch0).toISOString(),
    ...summary,
    events,
    requestLog: { tMs: log.map((r) => r.tMs), status: log.map((r) => r.status), latencyUs: log.map((r) => r.latencyUs) },
  };
  for (const t of record.targets) o.log(`  ${t.met ? 'met' : 'MISSED'}: ${t.target} — ${t.measured}`);
  return record;
}
