import { Agent, fetch as undiciFetch } from 'undici';
import { SETTINGS_STREAM_PATH } from '../protocol/endpoints.js';
import type { SidecarMetrics } from './metrics.js';
import type { SettingsState } from './settings/settings-state.js';
import { createSettingsStream, type SettingsStream } from './settings/settings-stream.js';
import { createExchangeFetch, saTokenFileReader } from './token/exchange.js';
import type { RefreshPolicyName } from './token/refresh-policy.js';
import { createTokenSource, systemClock, type Clock, type TokenSource } from './token/token-source.js';
import { createKeyStore } from './verify/jwks.js';
import type { RevocationList } from './verify/revocations.js';
import type { VerifyCache } from './verify/verify-cache.js';
import { createTokenVerifier, type TokenVerifier } from './verify/verifier.js';

/** The parts of the IdP's discovery document the sidecar uses. */
export interface Discovery {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  settings_stream_endpoint?: string;
}

export interface IdpLinkOptions {
  service: string;
  idpUrl: string;
  saTokenPath: string;
  refreshPolicy?: RefreshPolicyName;
  metrics: SidecarMetrics;
  settings: SettingsState;
  revocations: RevocationList;
  cache: VerifyCache;
  clock?: Clock;
  skewSeconds?: number;
  jwksMinRefetchIntervalMs?: number;
  /** Periodic JWKS re-fetch, ms, so keys the IdP retired stop being trusted. Default 5 min (±10% jitter). */
  jwksRefreshIntervalMs?: number;
  log?: (msg: string) => void;
  /** Called when the held token changes: a new one fetched, or the held one expired. */
  onToken?: () => void;
}

/** Everything the sidecar learns from and holds with the IdP; null parts are not there yet. */
export interface IdpLink {
  verifier(): TokenVerifier | null;
  tokenSource(): TokenSource | null;
  streamConnected(): boolean;
  /** Discovers the IdP (retrying with backoff), loads its JWKS, starts the token source and the stream. */
  start(): void;
  close(): Promise<void>;
}

async function discover(idpUrl: string, dispatcher: Agent): Promise<Discovery> {
  const url = new URL('/.well-known/openid-configuration', idpUrl).toString();
  const res = await undiciFetch(url, { dispatcher, signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`discovery ${url} answered ${res.status}`);
  const d = (await res.json()) as Partial<Discovery>;
  if (typeof d.issuer !== 'string' || typeof d.token_endpoint !== 'string' || typeof d.jwks_uri !== 'string') {
    throw new Error(`discovery ${url} lacks issuer, token_endpoint or jwks_uri`);
  }
  return d as Discovery;
}

export function createIdpLink(options: IdpLinkOptions): IdpLink {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => {});
  // One keep-alive pool for all IdP traffic (exchange, JWKS, stream).
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 8 });
  const readSaToken = saTokenFileReader(options.saTokenPath);
  let verifier: TokenVerifier | null = null;
  let tokenSource: TokenSource | null = null;
  let stream: SettingsStream | null = null;
  let closed = false;
  let timer: unknown = null;
  let attempt = 0;
  let jwksTimer: unknown = null;

  async function bootstrap(): Promise<void> {
    const d = await discover(options.idpUrl, dispatcher);
    const keys = createKeyStore({
      jwksUri: d.jwks_uri,
      dispatcher,
      ...(options.jwksMinRefetchIntervalMs !== undefined ? { minRefetchIntervalMs: options.jwksMinRefetchIntervalMs } : {}),
      now: () => clock.now(),
    });
    await keys.refresh();
    if (closed) return;
    const every = options.jwksRefreshIntervalMs ?? 300_000;
    const periodic = () => {
      jwksTimer = clock.setTimeout(
        () => {
          keys.refresh().catch((err: Error) => log(`JWKS refresh failed (${err.message}); keeping the keys held`));
          periodic();
        },
        every * (0.9 + 0.2 * Math.random()),
      );
    };
    periodic();
    verifier = createTokenVerifier({
      service: options.service,
      issuer: d.issuer,
      keys,
      cache: options.cache,
      revocations: options.revocations,
      ...(options.skewSeconds !== undefined ? { skewSeconds: options.skewSeconds } : {}),
      maxLifetimeSeconds: () => options.settings.current().maxTokenTtlSeconds,
      now: () => clock.now(),
    });
    const { metrics } = options;
    tokenSource = createTokenSource({
      fetchToken: createExchangeFetch({
        tokenEndpoint: d.token_endpoint,
        getSubjectToken: readSaToken,
        dispatcher,
        now: () => clock.now(),
      }),
      clock,
      ...(options.refreshPolicy ? { policy: options.refreshPolicy } : {}),
      onMetric(e) {
        if (e.type === 'fetched' || e.type === 'expired') options.onToken?.();
        if (e.type === 'fetched') {
          metrics.tokenIssued('ok', e.durationMs / 1000);
          metrics.tokenAlert(false);
        } else if (e.type === 'failed') {
          metrics.tokenIssued(e.errorClass, e.durationMs / 1000);
          // A 4xx means this sidecar is refused (bad SA token, no grant): retrying will not fix it.
          if (e.errorClass === 'client') metrics.tokenAlert(true);
          log(`token fetch failed (${e.errorClass}): ${e.error.message}; retry in ${Math.round(e.retryInMs)} ms`);
        }
      },
    });
    tokenSource.start();
    const streamUrl = new URL(d.settings_stream_endpoint ?? SETTINGS_STREAM_PATH, options.idpUrl).toString();
    stream = createSettingsStream({
      url: streamUrl,
      getSaToken: readSaToken,
      dispatcher,
      clock,
      onSnapshot: (s, first) => options.settings.apply(s, first),
      onConnectionChange: (up, err) =>
        log(up ? 'settings stream connected' : `settings stream lost: ${err?.message ?? 'closed'}; keeping last settings`),
    });
    stream.start();
  }

  function tryBootstrap(): void {
    timer = null;
    if (closed) return;
    bootstrap().catch((err: Error) => {
      const delay = Math.random() * Math.min(10_000, 250 * 2 ** Math.min(attempt++, 16));
      log(`IdP at ${options.idpUrl} not usable yet (${err.message}); retrying in ${Math.round(delay)} ms`);
      if (!closed) timer = clock.setTimeout(tryBootstrap, delay);
    });
  }

  return {
    verifier: () => verifier,
    tokenSource: () => tokenSource,
    streamConnected: () => stream?.connected() ?? false,
    start: tryBootstrap,
    async close() {
      closed = true;
      if (timer !== null) clock.clearTimeout(timer);
      if (jwksTimer !== null) clock.clearTimeout(jwksTimer);
      tokenSource?.stop();
      await stream?.stop();
      await dispatcher.destroy().catch(() => {});
    },
  };
}
