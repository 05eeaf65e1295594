import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { bindCounter, bindHistogram, perKey } from '../protocol/bound-metrics.js';
import { collectDefaultProcessMetrics } from '../runtime/default-metrics.js';
import { LATENCY_BUCKETS_SECONDS, METRICS } from '../protocol/metrics.js';

/** `token_result_total{result}` values. */
export type TokenResult =
  'issued' | 'invalid_request' | 'unsupported_grant_type' | 'invalid_subject' | 'invalid_target' | 'unavailable' | 'server_error';

export interface IdpMetrics {
  registry: Registry;
  tokenResult: Counter<'result'>;
  /** Time from request parsed to token signed (or refused), seconds. */
  issueDuration: Histogram<'result'>;
  inflight: Gauge;
  /** Counts one exchange by result and observes its duration (seconds), through children bound once per result. */
  exchanged(result: TokenResult, seconds: number): void;
  /**
   * Adds exchanges counted elsewhere (the Go token plane's): per bucket the count of durations whose first
   * bound ≥ it (not cumulative), their sum (seconds) and their count.
   */
  addExchanged(result: TokenResult, buckets: readonly number[], sum: number, count: number): void;
}

/** The IdP's metrics in their own Registry (not prom-client's global one), so several IdPs can share a process. */
export function createIdpMetrics(): IdpMetrics {
  const registry = new Registry();
  collectDefaultProcessMetrics(registry);
  const tokenResult = new Counter({
    name: METRICS.tokenResultTotal,
    help: 'Token exchange outcomes by result',
    labelNames: ['result'],
    registers: [registry],
  });
  // Pre-create the series so dashboards show zeros instead of gaps.
  for (const r of ['issued', 'invalid_request', 'unsupported_grant_type', 'invalid_subject', 'invalid_target'] as const) {
    tokenResult.inc({ result: r }, 0);
  }
  const issueDuration = new Histogram({
    name: METRICS.tokenIssueDurationSeconds,
    help: 'Token exchange duration, seconds',
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const inflight = new Gauge({
    name: METRICS.tokenExchangeInflight,
    help: 'Token exchanges in progress',
    registers: [registry],
  });
  // prom-client's own children hash their labels on every call; the token endpoint binds each
  // result's children once (protocol/bound-metrics.ts).
  const children = perKey((result: TokenResult) => ({
    count: bindCounter(tokenResult, { result }),
    duration: bindHistogram(issueDuration, { result }),
  }));
  const exchanged = (result: TokenResult, seconds: number): void => {
    const c = children(result);
    c.count.inc();
    c.duration.observe(seconds);
  };
  const addExchanged = (result: TokenResult, buckets: readonly number[], sum: number, count: number): void => {
    const c = children(result);
    c.count.add(count);
    c.duration.add(buckets, sum, count);
  };
  return { registry, tokenResult, issueDuration, inflight, exchanged, addExchanged };
}
