import { RUN_MODES, type RunMode } from '../../system/protocol/modes.js';
import type { RunRecord } from '../../results/schema.js';
import type { LoadProfile, LoadScenario } from '../../scenarios/scenario.js';
import { requestBody } from '../../scenarios/scenario.js';
import type { Platform } from '../platforms/platform.js';
import type { Engine, EngineRunOptions } from '../engines/types.js';
import { planTrials } from './design.js';
import { sampleCpu } from './cpu.js';
import { pairServices } from '../../system/protocol/endpoints.js';
import { toRunRecord } from './run-record.js';
import { primePairs } from './prime.js';
import { faultDuring, modeMismatch } from './run-checks.js';
import type { ProgressSink, StudyOptions } from './types.js';

/** The profile a run uses: the scenario's quick/full profile with the CLI's overrides applied. */
export function effectiveProfile(s: LoadScenario, o: Pick<StudyOptions, 'quick' | 'trials' | 'durationS' | 'rate'>): LoadProfile {
  const p = o.quick ? s.quick : s.full;
  return {
    ...p,
    trials: o.trials ?? p.trials,
    durationS: o.durationS ?? p.durationS,
    rateRps: o.rate ?? p.rateRps,
  };
}

export interface LoadRunOptions {
  scenario: LoadScenario;
  study: StudyOptions;
  seed: number;
  engine: Engine;
  platform: Platform;
  progress: ProgressSink;
}

/**
 * Runs one load scenario's trial plan: before each step the pairs are put into their modes, then
 * every assignment of the step is driven at the same time, one engine run per pair.
 */
export async function runLoadScenario(o: LoadRunOptions): Promise<RunRecord[]> {
  const { scenario: s, engine, platform, progress, study } = o;
  const profile = effectiveProfile(s, study);
  const modes = s.modes ?? RUN_MODES;
  const plan = planTrials({ design: study.design, pairs: study.pairs, trials: profile.trials, modes, seed: o.seed });
  const requests = s.mix.map((m) => ({ body: requestBody(m), weight: m.weight }));
  const runs: RunRecord[] = [];
  progress.phase(`scenario ${s.name}`);
  progress.log(
    `${s.name}: ${plan.length} trial(s) × ${profile.warmupS}+${profile.durationS} s, ${profile.connections} connection(s), ` +
      `${profile.rateRps ?? 'unlimited'} req/s per target, ${study.design}`,
  );
  // A/A: every mode but direct is configured exactly like off (see below).
  const configuredMode = (mode: RunMode): RunMode => (study.aa && mode !== 'direct' ? 'off' : mode);
  const primed = await primePairs({
    platform,
    pairs: [...new Set(plan.flatMap((t) => t.steps.flatMap((st) => st.map((a) => a.pair))))].sort((a, b) => a - b),
    modes: [...new Set(modes.map(configuredMode))],
    bodies: requests.flatMap((r) => Array.from({ length: Math.max(1, Math.round(r.weight)) }, () => r.body)),
    connections: profile.connections,
    ...(study.signal ? { signal: study.signal } : {}),
  });
  progress.log(
    `${s.name}: primed every pair in ${primed.perMode.map((m) => `${m.mode} (${m.sent} requests${m.failed ? `, ${m.failed} not 2xx` : ''})`).join(', ')} in ${primed.ms} ms; not measured`,
  );
  for (const trial of plan) {
    progress.trial(trial.trial, plan.length);
    for (const step of trial.steps) {
      study.signal?.throwIfAborted();
      // A/A: every mode but direct is configured exactly like off; runs keep their labels, so any
      // "significant" auth difference is a false positive.
      const configured = (mode: RunMode): RunMode => (study.aa && mode !== 'direct' ? 'off' : mode);
      await Promise.all(step.map((a) => platform.setPairMode(a.pair, configured(a.mode))));
      const eventsBefore = platform.events?.().length ?? 0;
      const targets = step.map((a): EngineRunOptions => ({
        url: platform.targetUrl(a.pair, configured(a.mode)),
        requests,
        connections: profile.connections,
        rateRps: profile.rateRps,
        durationS: profile.durationS,
        warmupS: profile.warmupS,
        k6Script: s.k6Script,
        ...(study.signal ? { signal: study.signal } : {}),
        ...(study.live ? { onResponse: study.live.observer(s.name, a.mode, a.pair) } : {}),
      }));
      // CPU counters of the step's sidecars and the IdP, read at the step's boundaries.
      const pids = stepPids(
        platform,
        step.map((a) => a.pair),
      );
      const loadAvg1m = study.machine?.sample();
      // CPU counters are read at the end of the warm-up and at the end of the run, so the figure covers
      // exactly the measured window, whose responses the engine counts: warm-up work (JIT compilation
      // of the newly switched mode's code paths, connection set-up) and the mode switch's settings
      // traffic stay out of it (they made whole-step figures drift by ±50% over a study).
      let cpuBefore: Promise<Map<string, number>> | undefined;
      const warmupTimer = setTimeout(() => (cpuBefore = sampleCpu(pids)), profile.warmupS * 1000);
      // One k6 process for the whole step (runMany); autocannon: one message to its load process, one instance per run there.
      const results = await (engine.runMany ? engine.runMany(targets) : Promise.all(targets.map((t) => engine.run(t)))).finally(() =>
        clearTimeout(warmupTimer),
      );
      const during = platform.events?.().slice(eventsBefore) ?? [];
      const cpuAfter = await sampleCpu(pids);
      const cpuStart = (await cpuBefore) ?? new Map<string, number>();
      const used = (name: string): number | undefined => {
        const a = cpuStart.get(name);
        const b = cpuAfter.get(name);
        return a === undefined || b === undefined ? undefined : b - a;
      };
      step.forEach((a, i) => {
        const r = results[i];
        if (!r) return;
        const record = toRunRecord(
          // The windows the engine really used (engines round them to what they can honour).
          {
            scenario: s.name,
            mode: a.mode,
            pair: a.pair,
            trial: trial.trial,
            engine: engine.name,
            rate: profile.rateRps,
            connections: profile.connections,
            durationS: r.measuredS,
            warmupS: r.warmupS,
          },
          r,
        );
        // A run that did not run as planned does not describe its mode: a component died (the platform
        // restarted it), or the pair was on other settings than the mode's.
        const reason = record.valid ? (faultDuring(during, a.pair) ?? modeMismatch(configured(a.mode), r)) : null;
        if (reason !== null) Object.assign(record, { valid: false, invalidReason: reason });
        const measured = r.ok + Object.values(r.errors).reduce((sum, n) => sum + n, 0);
        const cpu = runCpu(a.pair, measured, r.measuredS, used);
        if (cpu) record.cpu = cpu;
        if (loadAvg1m !== undefined) record.loadAvg1m = loadAvg1m;
        runs.push(record);
        if (!record.valid) progress.log(`  run ${record.id} invalid: ${record.invalidReason}`);
      });
    }
  }
  return runs;
}

/** Names and pids of the step's sidecars (both of each pair) and the IdP; empty where the platform has none. */
function stepPids(platform: Platform, pairs: readonly number[]): Map<string, number> {
  const out = new Map<string, number>();
  if (!platform.componentPid) return out;
  for (const name of ['idp', ...pairs.flatMap((p) => pairServices(p))]) {
    const pid = platform.componentPid(name);
    if (pid !== undefined) out.set(name, pid);
  }
  return out;
}

/** A run's CPU record from the measured window's counter deltas; undefined without both sidecars' counters. */
function runCpu(pair: number, responses: number, windowS: number, used: (name: string) => number | undefined): RunRecord['cpu'] {
  const [a, b] = pairServices(pair);
  const ua = used(a);
  const ub = used(b);
  if (ua === undefined || ub === undefined || !responses) return undefined;
  const idp = used('idp');
  const sidecarUs = Math.round(ua + ub);
  return {
    sidecarUs,
    requests: responses,
    sidecarUsPerRequest: Math.round((sidecarUs / responses) * 10) / 10,
    windowS,
    ...(idp === undefined ? {} : { idpUs: Math.round(idp) }),
  };
}
