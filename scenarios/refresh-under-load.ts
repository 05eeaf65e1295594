import type { FaultScenario } from './scenario.js';

/** Every sidecar drops its token and fetches a new one at once, under load. */
const refreshUnderLoad: FaultScenario = {
  kind: 'fault',
  name: 'refresh-under-load',
  description:
    'POST /admin/refresh-tokens mid-run: every sidecar drops its token and fetches a new one while serving; no request should fail.',
  defaultIn: { quick: false, full: false },
  order: 61,
  quick: { rateRps: 50, connections: 4, beforeS: 2, afterS: 2 },
  full: { rateRps: 100, connections: 4, beforeS: 5, afterS: 5 },
  target: { kind: 'no-failures' },
  async inject(a, quick) {
    const rounds = quick ? 2 : 5;
    const startMs = a.now();
    for (let i = 0; i < rounds; i++) {
      await a.refreshAllTokens();
      await a.sleep(1_000);
    }
    return { fault: `${rounds} × POST /admin/refresh-tokens, 1 s apart`, startMs, endMs: a.now() };
  },
};

export default refreshUnderLoad;
