import type { FaultScenario } from './scenario.js';

/**
 * PostgreSQL restarted under load (fast shutdown, a hold, start again). On the local platform every
 * service's database lives in one embedded cluster, so this restarts the shared postmaster: all
 * services (and the IdP's store) lose their database together.
 */
const dbRestart: FaultScenario = {
  kind: 'fault',
  name: 'db-restart',
  description:
    'The PostgreSQL server is restarted mid-run (fast shutdown, 2 s down): requests may fail only with 503 and must recover within 2 s of the database accepting connections.',
  defaultIn: { quick: false, full: false },
  order: 63,
  quick: { rateRps: 50, connections: 4, beforeS: 2, afterS: 3 },
  full: { rateRps: 100, connections: 4, beforeS: 5, afterS: 10 },
  needs: ['outage'],
  target: { kind: 'fail-only-then-recover', statuses: [503], withinMs: 2_000 },
  async inject(a, quick) {
    const holdMs = quick ? 2_000 : 5_000;
    const startMs = a.now();
    const t = await a.outage('postgres', holdMs);
    return {
      fault: `PostgreSQL postmaster (${t.subject}) stopped (SIGINT, fast shutdown), up again after ${((t.upMs - startMs) / 1000).toFixed(1)} s`,
      startMs,
      endMs: t.upMs,
      dbAcceptingMs: t.acceptingMs ?? null,
    };
  },
};

export default dbRestart;
