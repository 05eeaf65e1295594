import { dashboards } from '../../cluster/grafana/dashboards.js';

/** One panel query of the overview dashboard, variables set to All, and the labels its legend names. */
export interface PanelQuery {
  title: string;
  expr: string;
  labels: string[];
}

/**
 * Every panel query of `authlab-overview` with `$scenario`/`$mode`/`$pair`/`$service` as `.*` and
 * `$__rate_interval` as 30s. `withStorm: false` leaves out the token-storm panel, for a study that
 * runs no token storm.
 */
export function panelQueries(o: { withStorm?: boolean } = {}): PanelQuery[] {
  const d = dashboards()['authlab-overview.json']!;
  const panels = (d.panels ?? []) as { title?: string; targets?: { expr?: string; legendFormat?: string }[] }[];
  const out: PanelQuery[] = [];
  for (const p of panels) {
    if (o.withStorm === false && p.title?.startsWith('token storm')) continue;
    for (const t of p.targets ?? []) {
      out.push({
        title: p.title ?? '',
        expr: t.expr!.replace(/\$__rate_interval/g, '30s').replace(/\$(scenario|mode|pair|service)\b/g, '.*'),
        labels: [...(t.legendFormat ?? '').matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!),
      });
    }
  }
  return out;
}

/** Instant query against a real Prometheus HTTP API; throws unless the API says `success`. */
export async function promQuery(url: string, promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.status} ${body.error ?? ''}`);
  return body.data.result;
}

/** Why `q` fails against the Prometheus at `url` (empty result, a series without a legend label), or undefined. */
export async function panelProblem(url: string, q: PanelQuery): Promise<string | undefined> {
  const result = await promQuery(url, q.expr);
  if (result.length === 0) return `${q.title}: ${q.expr} is empty`;
  for (const label of q.labels) if (result.some((s) => s.metric[label] === undefined)) return `${q.title}: ${q.expr} lacks label ${label}`;
  return undefined;
}
