import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../runner/platforms/local/index.js';
import { runFaultScenario } from '../runner/faults/run-fault.js';
import { validateResults } from '../results/validate.js';
import type { FaultRecord } from '../results/schema.js';
import type { FaultScenario } from '../scenarios/scenario.js';
import idpOutage from '../scenarios/idp-outage.js';
import refreshUnderLoad from '../scenarios/refresh-under-load.js';
import keyRotation from '../scenarios/key-rotation.js';
import dbRestart from '../scenarios/db-restart.js';

// Each fault runs its quick profile (≈ 6–10 s) against one real local platform: the targets of
// issue 15 are asserted from the scenario's own record, the same one results.json carries.
describe('fault scenarios on the local platform (quick profiles)', () => {
  let platform: LocalPlatform;
  const lines: string[] = [];
  beforeAll(async () => {
    platform = await startLocalPlatform({ pairs: 1, log: (l) => lines.push(l) });
  }, 90_000);
  afterAll(() => platform?.close());

  const run = async (scenario: FaultScenario): Promise<FaultRecord> => {
    const record = await runFaultScenario({ scenario, platform, quick: true, log: (l) => lines.push(l) });
    console.log(
      `${scenario.name}: ${record.fault}; sent ${record.requestLog.tMs.length}; phases ${JSON.stringify(record.phases)}; ` +
        `recover ${record.timeToRecoverMs} ms; ${record.targets.map((t) => `${t.met ? 'met' : 'MISSED'} ${t.target}: ${t.measured}`).join('; ')}`,
    );
    // The record is valid results.json content.
    const results = {
      schemaVersion: 1,
      study: {
        id: 'x',
        startedAt: record.startedAt,
        finishedAt: record.startedAt,
        platform: 'local',
        engine: 'autocannon',
        design: 'interleaved',
        pairs: 1,
        trials: 0,
        git: { commit: 'x', dirty: false },
        env: { cpus: 2, cpuModel: 'x', memGiB: 1, node: 'x', os: 'x' },
      },
      runs: [],
      comparisons: [],
      tokenStorm: [],
      faults: [record],
    };
    expect(() => validateResults(results)).not.toThrow();
    expect(record.phases.during.sent).toBeGreaterThan(0);
    expect(record.phases.after.sent).toBeGreaterThan(0);
    return record;
  };

  it('idp-outage: SIGKILL of the IdP fails no request while tokens are valid, and the IdP comes back', async () => {
    const r = await run(idpOutage);
    expect(r.tokenLapsed).toBe(false);
    expect(r.targets.every((t) => t.met)).toBe(true);
    expect(r.events.some((e) => e.includes('idp exited'))).toBe(true);
    expect(r.events.some((e) => e.includes('idp restarted'))).toBe(true);
  }, 60_000);

  it('refresh-under-load: refreshing every token mid-run fails no request', async () => {
    const r = await run(refreshUnderLoad);
    expect(r.targets.every((t) => t.met)).toBe(true);
  }, 60_000);

  it('key-rotation: two rotations with token refreshes, then retiring the previous keys, fail no request', async () => {
    const kids = async () =>
      ((await (await fetch(`${platform.endpoints.idp.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map(
        (k) => k.kid,
      );
    const before = await kids();
    const r = await run(keyRotation);
    expect(r.targets.every((t) => t.met)).toBe(true);
    // The keys published before the run that were current or previous are gone from the JWKS mid-run.
    const after = await kids();
    expect(r.fault).toMatch(/then the previous keys retired: [\w-]+/);
    expect(after).toHaveLength(2); // current + next
    expect(before.filter((k) => after.includes(k)).length).toBeLessThan(before.length);
  }, 60_000);

  it('db-restart: requests fail only with 503 and recover within 2 s of the database accepting connections', async () => {
    const r = await run(dbRestart);
    expect(r.dbAcceptingMs).toEqual(expect.any(Number));
    const failedStatuses = Object.keys({ ...r.phases.before.failed, ...r.phases.during.failed, ...r.phases.after.failed });
    expect(failedStatuses.every((s) => s === '503')).toBe(true);
    expect(r.targets.every((t) => t.met)).toBe(true);
  }, 60_000);
});
