import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { METRICS, RUNNER_METRICS } from '../../system/protocol/metrics.js';

/** Every panel queries the dashboard's `datasource` variable (provisioned as Prometheus). */
const DS = { type: 'prometheus', uid: '${datasource}' };
const R = RUNNER_METRICS;
const M = METRICS;

/** Filters of the runner's load series and of the sidecars' series, from the dashboard variables. */
const LOAD = 'scenario=~"$scenario", mode=~"$mode"';
const SIDE = 'service=~"$service", pair=~"$pair"';

function ts(title: string, unit: string, queries: [expr: string, legend: string][], description: string): TimeseriesBuilder {
  const p = new TimeseriesBuilder().title(title).description(description).unit(unit).datasource(DS).lineWidth(2).fillOpacity(0);
  for (const [expr, legend] of queries) p.withTarget(new DataqueryBuilder().expr(expr).legendFormat(legend).range());
  return p;
}

const variable = (name: string, label: string, query: string) =>
  new QueryVariableBuilder(name)
    .label(label)
    .query(query)
    .datasource(DS)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .refresh(VariableRefresh.OnTimeRangeChanged);

/**
 * The authlab overview dashboard: latency quantiles per mode side by side, throughput, errors, auth
 * results by reason, tokens issued and failed, the storm's IdP rate per refresh policy, PostgreSQL sizes
 * and connections. Variables: `pair`, `service`, `mode`, `scenario` (and the Prometheus datasource).
 */
export function overviewDashboard(): Dashboard {
  const q = (stat: number) =>
    `histogram_quantile(${stat}, sum by (mode, le) (rate(${R.loadLatencySeconds}_bucket{${LOAD}}[$__rate_interval])))`;
  return new DashboardBuilder('authlab overview')
    .uid('authlab-overview')
    .tags(['authlab'])
    .refresh('5s')
    .time({ from: 'now-15m', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
    .withVariable(variable('scenario', 'scenario', `label_values(${R.loadResponsesTotal}, scenario)`))
    .withVariable(variable('mode', 'mode', `label_values(${R.loadResponsesTotal}, mode)`))
    .withVariable(variable('pair', 'pair', 'label_values(up{job="authlab-sidecar"}, pair)'))
    .withVariable(variable('service', 'service', 'label_values(up, service)'))
    .withRow(new RowBuilder('Load (the runner, per mode)'))
    .withPanel(
      ts('p50 per mode', 's', [[q(0.5), '{{mode}}']], 'Median response time seen by the load generator, per mode (2xx only).').gridPos({
        h: 8,
        w: 8,
        x: 0,
        y: 1,
      }),
    )
    .withPanel(
      ts('p99 per mode', 's', [[q(0.99), '{{mode}}']], '99th percentile response time per mode (2xx only).').gridPos({
        h: 8,
        w: 8,
        x: 8,
        y: 1,
      }),
    )
    .withPanel(
      ts(
        'responses/s per mode',
        'reqps',
        [[`sum by (mode) (rate(${R.loadResponsesTotal}{${LOAD}, outcome="ok"}[$__rate_interval]))`, '{{mode}}']],
        '2xx responses per second per mode.',
      ).gridPos({ h: 8, w: 8, x: 16, y: 1 }),
    )
    .withPanel(
      ts(
        'error rate per mode',
        'percentunit',
        [
          [
            `sum by (mode) (rate(${R.loadResponsesTotal}{${LOAD}, outcome!="ok"}[$__rate_interval])) / sum by (mode) (rate(${R.loadResponsesTotal}{${LOAD}}[$__rate_interval]))`,
            '{{mode}}',
          ],
        ],
        'Share of responses that were not 2xx (4xx, 5xx, time-outs, connection errors).',
      ).gridPos({ h: 8, w: 8, x: 0, y: 9 }),
    )
    .withPanel(
      ts(
        'study progress',
        'none',
        [
          [`${R.studyTrial}`, 'trial ({{scenario}})'],
          [`${R.studyTrials}`, 'trials ({{scenario}})'],
        ],
        'Trial in progress and trials planned of the current scenario.',
      ).gridPos({ h: 8, w: 8, x: 8, y: 9 }),
    )
    .withRow(new RowBuilder('Auth (the sidecars and the IdP)'))
    .withPanel(
      ts(
        'auth results by reason',
        'reqps',
        [
          [`sum by (result) (rate(${M.authVerifiedTotal}{${SIDE}}[$__rate_interval]))`, 'verified {{result}}'],
          [`sum by (result) (rate(${M.authSignedTotal}{${SIDE}}[$__rate_interval]))`, 'signed {{result}}'],
        ],
        'Inbound token checks and outbound signing per second, by outcome.',
      ).gridPos({ h: 8, w: 12, x: 0, y: 18 }),
    )
    .withPanel(
      ts(
        'tokens issued and failed',
        'reqps',
        [
          [`sum by (result) (rate(${M.tokenResultTotal}[$__rate_interval]))`, 'IdP {{result}}'],
          [`sum by (result) (rate(${M.tokenIssuedTotal}{${SIDE}}[$__rate_interval]))`, 'sidecar fetch {{result}}'],
        ],
        "Token exchanges by result at the IdP and the sidecars' own fetches.",
      ).gridPos({ h: 8, w: 12, x: 12, y: 18 }),
    )
    .withPanel(
      ts(
        'token storm: IdP responses/s per refresh policy',
        'reqps',
        [[`sum by (policy) (rate(${R.stormIdpResponsesTotal}[$__rate_interval]))`, '{{policy}}']],
        'Token-exchange responses of the storm IdP, per refresh policy (only while a token-storm scenario runs).',
      ).gridPos({ h: 8, w: 24, x: 0, y: 26 }),
    )
    .withRow(new RowBuilder('PostgreSQL (per service)'))
    .withPanel(
      ts(
        'database size',
        'bytes',
        [[`${R.pgDatabaseBytes}{service=~"$service"}`, '{{service}}']],
        'pg_database_size of each service database.',
      ).gridPos({ h: 8, w: 8, x: 0, y: 35 }),
    )
    .withPanel(
      ts(
        'largest tables',
        'bytes',
        [[`topk(10, ${R.pgTableBytes}{service=~"$service"})`, '{{service}} {{table}}']],
        'pg_total_relation_size of the ten largest user tables.',
      ).gridPos({ h: 8, w: 8, x: 8, y: 35 }),
    )
    .withPanel(
      ts(
        'connections',
        'none',
        [[`sum by (service, state) (${R.pgConnections}{service=~"$service"})`, '{{service}} {{state}}']],
        'Backends per service database in pg_stat_activity, by state.',
      ).gridPos({ h: 8, w: 8, x: 16, y: 35 }),
    )
    .build();
}

/** File name (under cluster/grafana/) → dashboard. */
export function dashboards(): Record<string, Dashboard> {
  return { 'authlab-overview.json': overviewDashboard() };
}
