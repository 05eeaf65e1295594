import { describe, expect, it } from 'vitest';
import { createLiveSeries } from './series.js';
import { startLiveServer } from './server.js';

describe('live server', () => {
  it('serves only /metrics on the extra address an in-cluster Prometheus scrapes, and closes both listeners', async () => {
    const live = createLiveSeries();
    live.observer('light', 'enforce', 1)(1000, 200);
    // 127.0.0.2 stands for the node address: another local address than the page's 127.0.0.1.
    const server = await startLiveServer({ live, metricsHost: '127.0.0.2' });
    const extra = `http://127.0.0.2:${server.metricsPort}`;
    try {
      const metrics = await fetch(`${extra}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/authlab_load_responses_total\{[^}]*mode="enforce"[^}]*\} 1/);
      expect((await fetch(`${extra}/`)).status).toBe(404);
      expect((await fetch(`${extra}/events`)).status).toBe(404);
      expect((await fetch(`${server.url}/`)).status).toBe(200);
    } finally {
      await server.close();
    }
    await expect(fetch(`${extra}/metrics`)).rejects.toThrow();
  });
});
