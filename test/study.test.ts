import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf } from '../system/protocol/errors.js';
import { runStudy } from '../runner/study/run-study.js';
import { runReplication } from '../runner/study/replication.js';
import { discoverScenarios, selectScenarios } from '../runner/study/scenarios.js';
import { buildAutocannonEngine } from '../runner/engines/autocannon.js';
import type { Platform, PlatformEvent } from '../runner/platforms/platform.js';
import { startFakePlatform, type FakePlatform } from './support/fake-platform.js';
import type { ProgressSink } from '../runner/study/types.js';
import type { Results } from '../results/schema.js';
import type { LoadScenario, ReplicationScenario } from '../scenarios/scenario.js';
import type { RunMode } from '../system/protocol/modes.js';

function sink(): ProgressSink & { lines: string[]; phases: string[]; trials: [number, number][] } {
  const lines: string[] = [];
  const phases: string[] = [];
  const trials: [number, number][] = [];
  return { lines, phases, trials, phase: (p) => phases.push(p), trial: (i, n) => trials.push([i, n]), log: (l) => lines.push(l) };
}

/** What `fn` threw (or rejected with); fails the test when it did not. */
async function catchError(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

/** The named scenarios as the CLI hands them to runStudy. */
async function only(...names: string[]) {
  return selectScenarios(await discoverScenarios(), names, true, 'autocannon');
}

/** Every number under a `...Us`/latency key, with its path, so a test can insist they are integers. */
function latencyNumbers(value: unknown, path = '', inLatency = false, out: [string, number][] = []): [string, number][] {
  if (typeof value === 'number') {
    if (inLatency) out.push([path, value]);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => latencyNumbers(v, `${path}[${i}]`, inLatency, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      latencyNumbers(v, `${path}.${k}`, inLatency || /Us$/.test(k) || k === 'latencyUs' || k === 'serverTimingUs', out);
    }
  }
  return out;
}

// Mode costs of the fake: off adds 2 ms over direct, enforce 2 ms over off, observe nothing over off.
const MS: Record<RunMode, number> = { direct: 1, off: 3, observe: 3, enforce: 5 };

describe('scenario discovery', () => {
  it('finds every scenario file without a hard-coded list', async () => {
    const all = await discoverScenarios();
    for (const name of ['light', 'heavy', 'write', 'mixed', 'replication', 'token-storm']) expect(all.has(name)).toBe(true);
    expect(all.get('token-storm')?.kind).toBe('storm');
    expect(all.get('replication')?.kind).toBe('replication');
    const light = all.get('light');
    expect(light?.kind === 'load' && light.engines).toEqual(['autocannon', 'k6']);
  });

  it('runs the headline scenario first by default, and rejects a scenario the engine cannot run', async () => {
    const all = await discoverScenarios();
    const quick = selectScenarios(all, [], true, 'autocannon').map((s) => s.name);
    expect(quick[0]).toBe('light');
    expect(quick).toContain('heavy');
    expect(quick).not.toContain('replication');
    const onlyAc = new Map(all);
    onlyAc.set('ac-only', { ...(all.get('light') as LoadScenario), name: 'ac-only', engines: ['autocannon'] });
    expect(() => selectScenarios(onlyAc, ['ac-only'], true, 'k6')).toThrow(/cannot run on engine k6/);
  });

  it('rejects an unknown scenario naming the known ones, as a usage error (exit 2)', async () => {
    const err = catchError(async () => selectScenarios(await discoverScenarios(), ['lihgt'], true, 'autocannon'));
    await expect(err).resolves.toMatchObject({
      code: 'ERR_SCENARIO_UNKNOWN',
      exitCode: 2,
      message: expect.stringMatching(/unknown scenario 'lihgt'; known scenarios: .*light/),
    });
  });

  it('refuses two scenario files with the same name as a usage error (exit 2), naming both files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'authlab-scenarios-'));
    try {
      const light = (await discoverScenarios()).get('light');
      const source = `export default ${JSON.stringify(light)};\n`;
      await writeFile(join(dir, 'package.json'), '{"type": "module"}');
      await writeFile(join(dir, 'one.js'), source);
      await writeFile(join(dir, 'two.js'), source);
      const err = await catchError(() => discoverScenarios(dir));
      expect(err).toMatchObject({ code: 'ERR_SCENARIO_DUPLICATE', exitCode: 2 });
      expect(exitCodeOf(err)).toBe(2);
      expect((err as Error).message).toBe("scenarios/one and scenarios/two are both named 'light'; rename one");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('runStudy on a fake platform', () => {
  let platform: FakePlatform;
  let results: Results;
  const progress = sink();
  beforeAll(async () => {
    platform = await startFakePlatform(4, (mode) => MS[mode]);
    results = await runStudy(
      {
        engine: 'autocannon',
        scenarios: await only('light'),
        quick: true,
        trials: 4,
        durationS: 1,
        design: 'interleaved',
        seed: 2024,
        pairs: 4,
      },
      platform,
      progress,
    );
  }, 60_000);
  afterAll(() => platform.close());

  it('produces a complete results.json: one valid run per pair and trial (bar a host stall), floor, env, seed', () => {
    expect(results.schemaVersion).toBe(1);
    expect(results.study).toMatchObject({
      engine: 'autocannon',
      design: 'interleaved',
      pairs: 4,
      trials: 4,
      seed: 2024,
      quick: true,
      scenarios: ['light'],
    });
    expect(results.study.env.cpus).toBeGreaterThan(0);
    expect(results.runs).toHaveLength(16);
    // Runs are 1 s here, so a CI host that stalls the load generator for ~300 ms (every test file at
    // once on 2 cores) leaves one short of its schedule, and the study rightly marks it invalid for
    // latency. Allow that for at most 2 of 16; anything else invalid, or more of them, fails.
    const stalled = results.runs.filter((r) => !r.valid && r.invalidFor === 'latency' && /^delivered \d+ of/.test(r.invalidReason ?? ''));
    expect(stalled.length, stalled.map((r) => `${r.id}: ${r.invalidReason}`).join('\n')).toBeLessThanOrEqual(2);
    for (const r of results.runs) {
      if (stalled.includes(r)) continue;
      expect(r.valid, `${r.id}: ${r.invalidReason}`).toBe(true);
      expect(r.requests.errors).toEqual({});
      // Node timers may fire early against the loop's cached time (a CI run read 4,895 µs for a 5 ms
      // sleep, 2.1% early), so allow 0.5 ms: still well above the next-faster mode's sleep, 2 ms apart.
      expect(r.latencyUs.p50).toBeGreaterThanOrEqual(MS[r.mode] * 1000 - 500);
      expect(r.latencyUs.hdr.length).toBeGreaterThan(10);
      if (r.mode === 'observe' || r.mode === 'enforce') expect(r.serverTimingUs['peer-verify']?.p50).toBe(10);
      expect(r.timeline?.length).toBeGreaterThanOrEqual(1);
    }
    expect(results.harnessFloor?.[0]?.p50Us).toBeGreaterThan(0);
    expect(results.harnessFloor?.[0]?.maxRps).toBeGreaterThan(100);
    expect(progress.trials.map(([i]) => i)).toEqual([1, 2, 3, 4]);
  });

  it('writes every latency as an integer number of microseconds', () => {
    const nums = latencyNumbers(results);
    expect(nums.length).toBeGreaterThan(100);
    const bad = nums.filter(([, v]) => !Number.isInteger(v));
    expect(bad).toEqual([]);
  });

  it('runs every mode on every pair once over a block of 4 trials (Latin square)', () => {
    for (let pair = 1; pair <= 4; pair++) {
      expect(new Set(results.runs.filter((r) => r.pair === pair).map((r) => r.mode)).size).toBe(4);
    }
    for (let trial = 1; trial <= 4; trial++) {
      expect(new Set(results.runs.filter((r) => r.trial === trial).map((r) => r.mode)).size).toBe(4);
    }
  });

  it('measures the overheads the fake builds in: enforce − off ≈ 2 ms, observe − off ≈ 0, off − direct ≈ 2 ms', () => {
    const get = (b: RunMode, c: RunMode) => results.comparisons.find((x) => x.baseline === b && x.candidate === c && x.stat === 'p50');
    const auth = get('off', 'enforce');
    // (Node timers are ~1 ms coarse on a busy loop: 2 ms of added delay reads as 1–2.6 ms.)
    expect(auth?.deltaUs).toBeGreaterThan(1_000);
    expect(auth?.deltaUs).toBeLessThan(2_600);
    // 4 trials: the CI is clear of zero, but a signed-rank p over 4 pairs cannot go below 0.125.
    expect(auth?.ci95Us[0]).toBeGreaterThan(500);
    expect(auth?.significant).toBe(false);
    expect(Math.abs(get('off', 'observe')?.deltaUs ?? 1e9)).toBeLessThan(500);
    expect(get('direct', 'off')?.deltaUs).toBeGreaterThan(1_000);
    expect(results.comparisons).toHaveLength(6);
  });

  it('replays the same pair→mode assignment from the recorded seed', async () => {
    const again = await startFakePlatform(4, () => 0);
    try {
      const replay = await runStudy(
        {
          engine: 'autocannon',
          scenarios: await only('light'),
          quick: true,
          trials: 4,
          durationS: 0.3,
          design: 'interleaved',
          seed: results.study.seed as number,
          pairs: 4,
        },
        again,
        sink(),
      );
      const key = (r: Results) => r.runs.map((x) => `${x.trial}/${x.pair}/${x.mode}`).sort();
      expect(key(replay)).toEqual(key(results));
      expect(again.modeLog).toEqual(platform.modeLog);
    } finally {
      await again.close();
    }
  }, 60_000);
});

describe('sequential design', () => {
  it('runs every mode one after another on pair 1 only, each mode once per trial', async () => {
    const platform = await startFakePlatform(2, (mode) => MS[mode]);
    try {
      const r = await runStudy(
        {
          engine: 'autocannon',
          scenarios: await only('light'),
          quick: true,
          trials: 2,
          durationS: 0.3,
          design: 'sequential',
          seed: 1,
          pairs: 2,
        },
        platform,
        sink(),
      );
      expect(r.study.design).toBe('sequential');
      expect(r.study.dataPlane).toBeUndefined(); // the platform's outbound calls are the sidecars' own
      expect(r.runs).toHaveLength(8);
      expect(r.runs.map((x) => x.pair)).toEqual(Array(8).fill(1));
      // A 0.3 s run on a busy host may fall short of its schedule (latency-only, said so); nothing else.
      expect(r.runs.filter((x) => !x.valid && x.invalidFor !== 'latency').map((x) => `${x.id}: ${x.invalidReason}`)).toEqual([]);
      for (const t of [1, 2]) expect(new Set(r.runs.filter((x) => x.trial === t).map((x) => x.mode)).size).toBe(4);
      expect([...platform.served.keys()].every((k) => k.startsWith('1/'))).toBe(true);
      expect(r.comparisons.find((c) => c.candidate === 'enforce' && c.stat === 'p50')?.n).toBe(2);
    } finally {
      await platform.close();
    }
  }, 60_000);
});

describe('runs the platform says were disturbed (issue 15, items 2 and 6)', () => {
  it('marks invalid the runs during which a component died, and only those', async () => {
    const fake = await startFakePlatform(2, (mode) => MS[mode]);
    const events: PlatformEvent[] = [];
    let steps = 0;
    // Steps are counted from the first trial on: priming (prime.ts) switches modes before it.
    const progress = sink();
    let inTrials = false;
    const trial = progress.trial;
    progress.trial = (i, n) => {
      inTrials = true;
      trial(i, n);
    };
    const platform: Platform = {
      ...fake,
      // A platform whose outbound calls go through the Go data plane: results.json records it.
      dataPlane: 'go',
      events: () => events,
      async setPairMode(pair, mode) {
        await fake.setPairMode(pair, mode);
        // The IdP dies during the third run (sequential design: one pair per step).
        if (inTrials && ++steps === 3)
          setTimeout(
            () => events.push({ at: new Date().toISOString(), component: 'idp', pid: 4242, kind: 'exited', detail: 'signal SIGKILL' }),
            50,
          );
      },
    };
    try {
      const r = await runStudy(
        {
          engine: 'autocannon',
          scenarios: await only('light'),
          quick: true,
          trials: 1,
          durationS: 0.3,
          design: 'sequential',
          seed: 1,
          pairs: 2,
        },
        platform,
        progress,
      );
      const invalid = r.runs.filter((x) => !x.valid);
      expect(invalid).toHaveLength(1);
      expect(invalid[0]!.id).toBe(r.runs[2]!.id);
      expect(invalid[0]!.invalidReason).toBe('during the run idp exited (signal SIGKILL)');
      expect(r.study.dataPlane).toBe('go');
    } finally {
      await fake.close();
    }
  }, 60_000);
});

describe('replication', () => {
  it('shows the same absolute auth cost for light and heavy queries, though the relative one differs', async () => {
    // auth on adds 10 ms; the light query takes 2 ms, the heavy one 60 ms. (Large, because the fake's
    // timers share a busy event loop with the engine; the property tested is the same at any scale.)
    const platform = await startFakePlatform(1, (mode, query) => (query === 'heavy' ? 60 : 2) + (mode === 'enforce' ? 10 : 0));
    const scenario: ReplicationScenario = {
      kind: 'replication',
      name: 'replication',
      description: 'test',
      defaultIn: { quick: false, full: false },
      authOn: 'enforce',
      authOff: 'off',
      quick: {
        workers: 5,
        repetitions: 4,
        queries: [
          { label: 'light', request: { query: 'write', params: {}, weight: 1 }, requests: 100, warmupRequests: 10 },
          { label: 'heavy', request: { query: 'heavy', params: { n: 1000 }, weight: 1 }, requests: 30, warmupRequests: 5 },
        ],
      },
      full: { workers: 5, repetitions: 1, queries: [] },
    };
    try {
      const { runs, records } = await runReplication({
        scenario,
        quick: true,
        engine: buildAutocannonEngine(),
        platform,
        progress: sink(),
        seed: 5,
      });
      expect(runs).toHaveLength(16);
      expect(runs.every((r) => r.valid && r.requests.ok === (r.scenario.endsWith('light') ? 100 : 30))).toBe(true);
      const light = records.find((r) => r.query === 'light');
      const heavy = records.find((r) => r.query === 'heavy');
      for (const r of [light, heavy]) {
        // Stalls of the shared event loop delay short timers more than long ones: 10 ms reads as 4–16.
        expect(r?.meanDeltaUs).toBeGreaterThan(4_000);
        expect(r?.meanDeltaUs).toBeLessThan(16_000);
        expect(r?.byAuth.on.perRepMeanUs).toHaveLength(4);
      }
      expect(Math.abs((light?.meanDeltaUs ?? 0) - (heavy?.meanDeltaUs ?? 1e9))).toBeLessThan(5_000);
      // The published "27% slower" kind of figure depends on the query; the µs do not.
      expect(light?.meanRelative).toBeGreaterThan(3 * (heavy?.meanRelative ?? 1));
      expect(heavy?.meanRelative).toBeLessThan(0.35);
    } finally {
      await platform.close();
    }
  }, 60_000);
});
