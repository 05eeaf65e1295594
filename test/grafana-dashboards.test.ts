import { describe, expect, it } from 'vitest';
import { dashboards } from '../cluster/grafana/dashboards.js';
import { staleDashboards } from '../cluster/grafana/generate.js';

describe('Grafana dashboards as code', () => {
  it('the committed JSON under cluster/grafana/ is what `npm run dashboards` makes now', async () => {
    expect(await staleDashboards(), 'run `npm run dashboards` and commit the result').toEqual([]);
  });

  it('has the pair, service, mode and scenario variables and a Prometheus query on every panel', () => {
    const d = dashboards()['authlab-overview.json']!;
    expect(d.templating.list?.map((v) => v.name)).toEqual(['datasource', 'scenario', 'mode', 'pair', 'service']);
    const panels = (d.panels ?? []).filter((p) => p.type !== 'row') as {
      title: string;
      targets?: { expr?: string }[];
      datasource?: unknown;
    }[];
    expect(panels.length).toBeGreaterThanOrEqual(11);
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.expr, p.title).toMatch(/\w/);
    }
  });
});
