import {
  createTokenSource,
  type Clock,
  type FetchedToken,
  type RefreshPolicyName,
  type TokenSource,
} from '../../system/sidecar/token/index.js';
import type { TokenStormRecord } from '../../results/schema.js';
import { createRpsMeter, peakAndMean } from './rps-meter.js';

/** What one policy's storm needs: how to fetch for service i, and a timeline (real or virtual). */
export interface PolicyRunOptions {
  policy: RefreshPolicyName;
  services: number;
  /** Access-token lifetime the IdP issues, seconds (recorded; the schedule follows the tokens' own iat/exp). */
  ttlSeconds: number;
  /** Length of the steady state, in token lifetimes. */
  steadyLifetimes: number;
  /**
   * Token lifetimes after the cold start that count as settling: they are in the series (the curve
   * shows how the cold-start wave decays) but not in peak/mean. Default 0.
   */
  settleLifetimes?: number;
  /** The token-exchange fetch of virtual service i (0-based). */
  fetchFor: (index: number) => () => Promise<FetchedToken>;
  /** Clock the token sources schedule with. */
  clock: Clock;
  /** Monotonic ms for measuring; on a virtual timeline the virtual clock's `now`. */
  nowMs: () => number;
  /** Waits `ms` on the timeline (real sleep, or advancing a virtual clock). */
  sleep: (ms: number) => Promise<void>;
  /** Bucket of the series and of the peak, ms. Default 1000. */
  bucketMs?: number;
  /** Give up waiting for all first tokens after this long, ms. Default 120,000. */
  coldStartTimeoutMs?: number;
  /** Uniform [0,1) source for the token sources (seeded in tests). Default Math.random. */
  random?: () => number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Sees every IdP response (issued or failed) as it arrives: the runner's live series. */
  onIdpResponse?: (policy: string) => void;
}

/** The record plus what tests and logs need to judge it. */
export interface PolicyRunResult {
  record: TokenStormRecord;
  /** Services holding a valid token right after the cold start wait, and at the end. */
  holdersAfterColdStart: number;
  holdersAtEnd: number;
  /** Fewest services holding a valid token at any 1 s sample of the steady state (settling included). */
  minHolders: number;
  /** Failed exchanges by class (network, server, throttled, client). */
  failuresByClass: Record<string, number>;
  /** The whole IdP rate curve from the cold start on (tMs since cold start), for plots and checks. */
  fullSeries: [number, number][];
  /** Peak and mean over the steady window of requests by send time (the demand the policy makes). */
  sentPeakRps: number;
  sentMeanRps: number;
  /** Steady-window bounds, ms since cold start. */
  steadyFromMs: number;
  steadyToMs: number;
}

/**
 * One policy's token storm: N token sources (the real `createTokenSource` of system/sidecar, one
 * timer each) started at the same instant (cold start); once all hold a token, a steady state of
 * `steadyLifetimes` token lifetimes. Every exchange response is counted by completion time, so the
 * IdP's request rate is measured on the client side in 100 ms slots.
 */
export async function runPolicyStorm(opts: PolicyRunOptions): Promise<PolicyRunResult> {
  const bucketMs = opts.bucketMs ?? 1000;
  const ttlMs = opts.ttlSeconds * 1000;
  const settleMs = (opts.settleLifetimes ?? 0) * ttlMs;
  const steadyMs = opts.steadyLifetimes * ttlMs;
  // Responses by completion time (what the IdP got done) and requests by send time (what the
  // policy asked of it). They differ when the IdP or the machine stalls and then catches up.
  const meter = createRpsMeter({ now: opts.nowMs, resolutionMs: 100 });
  const sent = createRpsMeter({ now: opts.nowMs, resolutionMs: 100 });
  const log = opts.log ?? (() => {});

  let issued = 0;
  let failed = 0;
  const failuresByClass: Record<string, number> = {};
  const hasToken = new Uint8Array(opts.services);
  let firstTokens = 0;
  let lastFirstTokenMs = 0;

  // Exchanges started but not finished: a policy's run ends only when its fleet is quiet, so its
  // stragglers are not counted as the next policy's IdP traffic.
  let inflight = 0;
  const counted = (fetch: () => Promise<FetchedToken>) => async () => {
    inflight++;
    sent.record();
    try {
      return await fetch();
    } finally {
      inflight--;
    }
  };

  const sources: TokenSource[] = [];
  for (let i = 0; i < opts.services; i++) {
    sources.push(
      createTokenSource({
        fetchToken: counted(opts.fetchFor(i)),
        clock: opts.clock,
        policy: opts.policy,
        ...(opts.random ? { random: opts.random } : {}),
        onMetric: (ev) => {
          if (ev.type === 'fetched') {
            meter.record();
            opts.onIdpResponse?.(opts.policy);
            issued++;
            if (!hasToken[i]) {
              hasToken[i] = 1;
              firstTokens++;
              lastFirstTokenMs = meter.elapsedMs();
            }
          } else if (ev.type === 'failed') {
            meter.record();
            opts.onIdpResponse?.(opts.policy);
            failed++;
            failuresByClass[ev.errorClass] = (failuresByClass[ev.errorClass] ?? 0) + 1;
            if (failed <= 3) log(`storm[${opts.policy}]: exchange failed (${ev.errorClass}): ${ev.error.message}`);
          }
        },
      }),
    );
  }
  const holders = () => sources.reduce((n, s) => n + (s.current() ? 1 : 0), 0);

  try {
    // Cold start: every service asks at the same instant, as after a cluster-wide restart.
    const coldStartAt = meter.elapsedMs();
    for (const s of sources) s.start();
    const timeoutMs = opts.coldStartTimeoutMs ?? 120_000;
    while (firstTokens < opts.services && meter.elapsedMs() - coldStartAt < timeoutMs) {
      opts.signal?.throwIfAborted();
      await opts.sleep(10);
    }
    const allAt = firstTokens === opts.services ? lastFirstTokenMs : meter.elapsedMs();
    const timeToAllTokensMs = Math.round(allAt - coldStartAt);
    const holdersAfterColdStart = holders();
    log(
      `storm[${opts.policy}]: cold start ${firstTokens}/${opts.services} services hold tokens after ${timeToAllTokensMs} ms (${failed} failed exchanges)`,
    );

    // The steady state starts when the cold start is over (all tokens held); peak and mean exclude
    // the cold-start burst itself, and the first `settleLifetimes` lifetimes after it, whose refresh
    // waves are its echo rather than the policy's steady behaviour.
    const seriesFrom = Math.ceil(allAt / bucketMs) * bucketMs;
    const steadyFrom = seriesFrom + Math.ceil(settleMs / bucketMs) * bucketMs;
    const steadyTo = steadyFrom + Math.ceil(steadyMs / bucketMs) * bucketMs;
    const endAt = steadyTo + 1; // one ms past the window so the last bucket is whole
    // Sampled once a second: a service whose token lapsed before its refresh came back cannot call
    // anyone, which a user notices even when no exchange failed.
    let minHolders = holdersAfterColdStart;
    while (meter.elapsedMs() < endAt) {
      opts.signal?.throwIfAborted();
      await opts.sleep(Math.min(1000, endAt - meter.elapsedMs()));
      minHolders = Math.min(minHolders, holders());
    }
    const holdersAtEnd = holders();
    // Stop the fleet and let exchanges already sent finish, so issued/failed count every request
    // the IdP saw from this policy (the series stops at the window's end regardless).
    await stopAndDrain();

    const shift = (s: [number, number][], by: number): [number, number][] => s.map(([t, r]) => [t + by, r]);
    const fullSeries = shift(meter.series(seriesFrom, steadyTo, bucketMs), seriesFrom - coldStartAt);
    const steady = shift(meter.series(steadyFrom, steadyTo, bucketMs), steadyFrom - coldStartAt);
    const { peak, mean } = peakAndMean(steady);
    const sentSteady = peakAndMean(sent.series(steadyFrom, steadyTo, bucketMs));
    log(
      `storm[${opts.policy}]: steady ${Math.round((steadyTo - steadyFrom) / 1000)} s: responses peak ${peak} rps, mean ${mean} rps (×${ratio(peak, mean)}); ` +
        `requests sent peak ${sentSteady.peak}, mean ${sentSteady.mean} (×${ratio(sentSteady.peak, sentSteady.mean)}); ${holdersAtEnd}/${opts.services} hold tokens`,
    );
    return {
      record: {
        policy: opts.policy,
        services: opts.services,
        ttlS: opts.ttlSeconds,
        issued,
        failed,
        peakIdpRps: peak,
        meanIdpRps: mean,
        timeToAllTokensMs,
        idpRpsSeries: fullSeries,
      },
      holdersAfterColdStart,
      holdersAtEnd,
      minHolders,
      failuresByClass,
      fullSeries,
      sentPeakRps: sentSteady.peak,
      sentMeanRps: sentSteady.mean,
      steadyFromMs: steadyFrom - coldStartAt,
      steadyToMs: steadyTo - coldStartAt,
    };
  } finally {
    await stopAndDrain();
  }

  async function stopAndDrain(): Promise<void> {
    for (const s of sources) s.stop();
    const drainUntil = opts.nowMs() + 15_000;
    while (inflight > 0 && opts.nowMs() < drainUntil) await opts.sleep(10);
    if (inflight > 0) log(`storm[${opts.policy}]: ${inflight} exchanges still in flight after 15 s; not counted`);
  }
}

function ratio(peak: number, mean: number): string {
  return mean ? (peak / mean).toFixed(2) : '—';
}
