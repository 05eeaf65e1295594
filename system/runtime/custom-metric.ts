import type { Registry } from 'prom-client';

/** One exposition line: `metricName` (default the metric's name), labels and value. */
export interface Sample {
  metricName?: string;
  labels: Record<string, string>;
  value: number;
}

export interface CustomMetricSpec {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** Read at scrape time; may be async (a database query). */
  samples: () => Sample[] | Promise<Sample[]>;
}

/**
 * Registers a metric whose samples are computed at scrape time from the runner's own state. prom-client's
 * Histogram finds a bucket by a linear scan and hashes labels per call; the load loop instead keeps plain
 * counters (series.ts) and this turns them into the exposition format only when someone reads them.
 */
export function customMetric(registry: Registry, spec: CustomMetricSpec): void {
  const metric = {
    name: spec.name,
    help: spec.help,
    type: spec.type,
    aggregator: 'sum',
    async get() {
      return { name: spec.name, help: spec.help, type: spec.type, aggregator: 'sum', values: await spec.samples() };
    },
    reset() {},
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}
