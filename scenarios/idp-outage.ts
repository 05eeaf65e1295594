import type { FaultScenario } from './scenario.js';

/** The IdP killed (SIGKILL, by pid) under load and restarted after a hold: tokens stay valid throughout. */
const idpOutage: FaultScenario = {
  kind: 'fault',
  name: 'idp-outage',
  description: 'The IdP is killed mid-run (SIGKILL) and restarted after a few seconds; held tokens stay valid, so no request should fail.',
  defaultIn: { quick: false, full: false },
  order: 60,
  quick: { rateRps: 50, connections: 4, beforeS: 2, afterS: 3 },
  full: { rateRps: 100, connections: 4, beforeS: 5, afterS: 10 },
  needs: ['outage'],
  target: { kind: 'no-failures' },
  async inject(a, quick) {
    const holdMs = quick ? 3_000 : 10_000;
    const startMs = a.now();
    const t = await a.outage('idp', holdMs);
    return {
      fault: `SIGKILL of the IdP (${t.subject}), ready again after ${((t.upMs - startMs) / 1000).toFixed(1)} s`,
      startMs,
      endMs: t.upMs,
    };
  },
};

export default idpOutage;
