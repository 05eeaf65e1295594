import pg from 'pg';
import type { OutageTimes, PlatformFaults } from '../platform.js';
import type { Supervisor } from './supervisor.js';

/** How often the database probe tries a new connection during a PostgreSQL outage, ms. */
const PROBE_INTERVAL_MS = 20;

/**
 * Fault injection on the local platform. Every service has its own database, but all of them live in
 * one embedded PostgreSQL cluster (with the IdP's): a `postgres` outage stops that one postmaster,
 * so every service and the IdP lose their database at once, which is what a restart of a shared
 * database server does. The supervisor starts it again after the hold (supervisor.ts `hold`).
 *
 * @param superUrl the cluster's superuser URL, used by the probe that times "accepting connections"
 */
export function localFaults(supervisor: Supervisor, superUrl: string): PlatformFaults {
  return {
    async outage(component, holdMs) {
      const pid = supervisor.status()[component]?.pid;
      if (pid === undefined || pid <= 0) throw new Error(`${component} is not running; cannot inject a fault`);
      const back = supervisor.hold(component, holdMs);
      const downAt = Date.now();
      // SIGINT is PostgreSQL's fast shutdown (what a restart does); the IdP dies without warning.
      process.kill(pid, component === 'postgres' ? 'SIGINT' : 'SIGKILL');
      const accepting = component === 'postgres' ? probeAccepting(superUrl, back) : undefined;
      await back;
      const upAt = Date.now();
      const acceptingAt = await accepting;
      const times: OutageTimes = { subject: `pid ${pid}`, downAt, upAt };
      if (acceptingAt !== undefined) times.acceptingAt = acceptingAt;
      return times;
    },
  };
}

/** First time a new connection succeeds after one has failed (the server went down, then came back). */
async function probeAccepting(url: string, restarted: Promise<void>): Promise<number | undefined> {
  let sawDown = false;
  let done = false;
  restarted.then(
    () => {},
    () => (done = true),
  );
  for (let i = 0; i < 30_000 / PROBE_INTERVAL_MS && !done; i++) {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    c.on('error', () => {});
    const at = await c.connect().then(
      () => Date.now(),
      () => null,
    );
    await c.end().catch(() => {});
    if (at === null) sawDown = true;
    else if (sawDown) return at;
    await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
  }
  return undefined;
}
