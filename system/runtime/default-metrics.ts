import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's default process metrics, less three gauges named `_total`
 * (`nodejs_active_{handles,requests,resources}_total`) that `promtool check metrics` rejects: a `_total`
 * suffix promises a counter. The same counts stay available, by type, as `nodejs_active_handles`,
 * `nodejs_active_requests` and `nodejs_active_resources`.
 */
export function collectDefaultProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
}
