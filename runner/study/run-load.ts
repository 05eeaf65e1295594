import { RUN_MODES, type RunMode } from '../../system/protocol/modes.js';
import type { RunRecord } from '../../results/schema.js';
import type { LoadProfile, LoadScenario } from '../../scenarios/scenario.js';
import { requestBody } from '../../scenarios/scenario.js';
import type { Platform } from '../platforms/platform.js';
import type { Engine, EngineRunOptions } from '../engines/types.js';
import { planTrials } from './design.js';
import { toRunRecord } from './run-record.js';
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
  for (const trial of plan) {
    progress.trial(trial.trial, plan.length);
    for (const step of trial.steps) {
      study.signal?.throwIfAborted();
      // A/A: every mode but direct is configured exactly like off; runs keep their labels, so any
      // "significant" auth difference is a false positive.
      const configured = (mode: RunMode): RunMode => (study.aa && mode !== 'direct' ? 'off' : mode);
      await Promise.all(step.map((a) => platform.setPairMode(a.pair, configured(a.mode))));
      const targets = step.map((a): EngineRunOptions => ({
        url: platform.targetUrl(a.pair, configured(a.mode)),
        requests,
        connections: profile.connections,
        rateRps: profile.rateRps,
        durationS: profile.durationS,
        warmupS: profile.warmupS,
        k6Script: s.k6Script,
        ...(study.signal ? { signal: study.signal } : {}),
      }));
      // One k6 process for the whole step (runMany); autocannon runs in-process, one instance each.
      const results = engine.runMany ? await engine.runMany(targets) : await Promise.all(targets.map((t) => engine.run(t)));
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
        runs.push(record);
        if (!record.valid) progress.log(`  run ${record.id} invalid: ${record.invalidReason}`);
      });
    }
  }
  return runs;
}
