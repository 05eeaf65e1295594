import { randomInt } from 'node:crypto';
import { runTokenStorm } from '../storm/index.js';
import type { FaultRecord, Results, RunRecord, TokenStormRecord, ReplicationRecord, HarnessFloor } from '../../results/schema.js';
import type { Platform } from '../platforms/platform.js';
import { buildEngine } from '../engines/index.js';
import { compareModes } from './comparisons.js';
import { estimateAuthCost } from './estimators.js';
import { judgeFamily } from './family.js';
import { MachineRecorder } from './machine.js';
import { trialsForFamily } from '../../results/stats/index.js';
import { studyEnv, studyGit } from './env.js';
import { measureFloor } from './floor.js';
import { runReplication } from './replication.js';
import { runFaultScenario } from '../faults/run-fault.js';
import { effectiveProfile, runLoadScenario } from './run-load.js';
import type { ProgressSink, StudyOptions } from './types.js';

export type { ProgressSink, StudyOptions } from './types.js';

/** `20261123-150102-autocannon`: sortable, unique per second and engine. */
function studyId(at: Date, engine: string): string {
  return `${at.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-${engine}`;
}

/**
 * Runs a study on a provisioned platform and returns its results.json content (the CLI writes and
 * renders it). Scenarios run in the order given: load scenarios (trial plan, comparisons),
 * replication, token storms and fault scenarios (runner/faults). Every latency is an integer in µs.
 *
 * Trusts its typed options: the CLI validated the flags, selected the scenarios and checked the
 * engine before anything was provisioned.
 *
 * @throws the signal's reason when aborted.
 */
export async function runStudy(opts: StudyOptions, platform: Platform, studyProgress: ProgressSink): Promise<Results> {
  const progress = studyProgress;
  const started = new Date();
  const machine = new MachineRecorder(opts.pinning);
  const seed = opts.seed ?? randomInt(0, 2 ** 31 - 1);
  const engine = opts.engineInstance ?? buildEngine(opts.engine, opts.k6Binary);
  const scenarios = opts.scenarios;
  progress.log(`study: ${scenarios.map((s) => s.name).join(', ')}; engine ${engine.name}; ${opts.design}; seed ${seed}`);
  const signal = opts.signal ? { signal: opts.signal } : {};

  const loads = scenarios.flatMap((s) => (s.kind === 'load' ? [s] : []));
  const harnessFloor: HarnessFloor[] = [];
  if (loads.length > 0 || scenarios.some((s) => s.kind === 'replication')) {
    progress.phase('harness floor');
    const first = loads[0];
    const shape = first ? effectiveProfile(first, opts) : { connections: 1, rateRps: null };
    harnessFloor.push(
      await measureFloor(engine, {
        connections: shape.connections,
        rateRps: shape.rateRps,
        durationS: opts.quick ? 1 : 5,
        warmupS: 1,
        ...signal,
      }),
    );
    const f = harnessFloor[0];
    if (f) progress.log(`harness floor (${engine.name}): p50 ${f.p50Us} µs, p99 ${f.p99Us} µs, max ${f.maxRps} req/s`);
  }

  const runs: RunRecord[] = [];
  const replication: ReplicationRecord[] = [];
  const tokenStorm: TokenStormRecord[] = [];
  const faults: FaultRecord[] = [];
  for (const [k, s] of scenarios.entries()) {
    opts.signal?.throwIfAborted();
    // Phases name the scenario's place in the study, so a reader of the progress line knows how much is left.
    const progress: ProgressSink = { ...studyProgress, phase: (name) => studyProgress.phase(`${name} (${k + 1} of ${scenarios.length})`) };
    if (s.kind === 'load') {
      runs.push(...(await runLoadScenario({ scenario: s, study: { ...opts, machine }, seed, engine, platform, progress })));
    } else if (s.kind === 'replication') {
      const r = await runReplication({ scenario: s, quick: opts.quick, engine, platform, progress, seed, ...signal });
      runs.push(...r.runs);
      replication.push(...r.records);
    } else if (s.kind === 'fault') {
      progress.phase(`scenario ${s.name}`);
      faults.push(await runFaultScenario({ scenario: s, platform, quick: opts.quick, log: (l) => progress.log(l), ...signal }));
    } else {
      progress.phase(`scenario ${s.name}`);
      // On a platform with its own storm environment (kube, kind), the storm drives the platform's IdP.
      const environment = platform.stormEnvironment?.bind(platform);
      const live = opts.live;
      const storm: typeof runTokenStorm = (o) =>
        runTokenStorm({
          ...o,
          ...(environment ? { environment } : {}),
          ...(live ? { onIdpResponse: (policy: string) => live.stormResponse(policy) } : {}),
        });
      tokenStorm.push(...(await s.run({ quick: opts.quick, log: (l) => progress.log(`  ${l}`), runTokenStorm: storm, ...signal })));
    }
  }

  studyProgress.phase('statistics');
  // One family: every end-to-end comparison and every auth-cost estimate is Holm-adjusted together.
  // Calibration: enforce − observe is exactly the injected wait (both verify; only enforce waits).
  const extra = opts.calibrateUs ? ([['observe', 'enforce']] as const) : [];
  const rawComparisons = compareModes(runs, { seed, extra });
  const rawEstimates = estimateAuthCost(runs, { seed, extra });
  const verdicts = judgeFamily([
    ...rawComparisons.map((c) => ({ pValue: c.pValue, ci95: c.ci95Us })),
    ...rawEstimates.map((e) => ({ pValue: e.pValue, ci95: e.ci95 })),
  ]);
  const comparisons = rawComparisons.map((c, i) => ({ ...c, ...verdicts[i]! }));
  const fewest = Math.min(...rawComparisons.map((c) => c.n ?? 0), ...rawEstimates.map((e) => e.n));
  if (verdicts.length > 0 && fewest < trialsForFamily(verdicts.length)) {
    progress.log(
      `note: Holm over ${verdicts.length} tests needs ≥ ${trialsForFamily(verdicts.length)} trials for one real effect to pass ` +
        `(exact signed-rank floor 2/2^n < 0.05/${verdicts.length}); some comparisons have ${fewest}`,
    );
  }
  const estimates = rawEstimates.map((e, i) => ({ ...e, ...verdicts[rawComparisons.length + i]! }));
  const git = await studyGit();
  const machineState = machine.result();
  progress.log(
    `host: load average ${machineState.loadAvgStart[0]} → ${machineState.loadAvgEnd[0]} (max ${machineState.loadAvg1mMax}) on ${machineState.cores} cores; ${machineState.pinning}`,
  );
  const results: Results = {
    schemaVersion: 1,
    study: {
      id: studyId(started, engine.name),
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      platform: platform.name,
      engine: engine.name,
      design: opts.design,
      pairs: opts.pairs,
      trials: Math.max(0, ...runs.map((r) => r.trial)),
      seed,
      scenarios: scenarios.map((s) => s.name),
      quick: opts.quick,
      ...(opts.calibrateUs ? { calibrateUs: opts.calibrateUs } : {}),
      ...(platform.dataPlane ? { dataPlane: platform.dataPlane } : {}),
      ...(opts.aa ? { aa: true } : {}),
      ...(opts.k6Runners ? { k6Runners: opts.k6Runners } : {}),
      machine: machineState,
      git,
      env: { ...studyEnv(), ...(platform.kubernetesVersion ? { kubernetes: platform.kubernetesVersion } : {}) },
    },
    harnessFloor,
    runs,
    comparisons,
    tokenStorm,
    ...(replication.length > 0 ? { replication } : {}),
    ...(estimates.length > 0 ? { estimates } : {}),
    ...(faults.length > 0 ? { faults } : {}),
  };
  return results;
}
