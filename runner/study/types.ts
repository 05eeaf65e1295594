import type { LiveSeries } from '../live/series.js';
import type { DesignName, EngineName } from '../../results/schema.js';
import type { Scenario } from '../../scenarios/scenario.js';
import type { PinPlan } from './pinning.js';

/** What `authlab study` asks of the study runner (validated by the CLI). */
export interface StudyOptions {
  engine: EngineName;
  /** The k6 binary the CLI found for `--engine k6` (default: the engine looks it up). */
  k6Binary?: string;
  /** An engine built by the caller (in-cluster k6 runners), used instead of building `engine`. */
  engineInstance?: import('../engines/types.js').Engine;
  /** The scenarios to run, in order (the CLI picks them with `selectScenarios`). */
  scenarios: readonly Scenario[];
  /** Short study (≤ 60 s on 2 cores): each scenario's `quick` profile. */
  quick: boolean;
  /** Trials per load scenario (default: the scenario's profile). */
  trials?: number;
  /** Measured seconds per run (default: the scenario's profile). */
  durationS?: number;
  /** Requests/s per target (default: the scenario's profile). */
  rate?: number;
  design: DesignName;
  /** Seed of the trial shuffle and of the bootstrap; default random, always recorded. */
  seed?: number;
  /** Pairs the platform provisioned (1-based ids 1..pairs). */
  pairs: number;
  /**
   * µs the platform's sidecars busy-wait in enforce's verify stage (`--calibrate`; the platform was
   * started with it): the study adds enforce − observe, whose true value is exactly this, to its tests.
   */
  calibrateUs?: number;
  /** A/A study (`--aa`): observe and enforce runs are driven with the pair configured as off. */
  aa?: boolean;
  /** `--k6-runners N`: recorded as `study.k6Runners` (the engine itself comes in `engineInstance`). */
  k6Runners?: number;
  /** What the CLI did about CPU affinity before provisioning (recorded in study.machine). */
  pinning?: PinPlan;
  /** Where run boundaries report the load average (the study's MachineRecorder). */
  machine?: { sample(): number };
  /** The runner's live series (`--observe`, the live page): every response and storm exchange is counted there. */
  live?: LiveSeries;
  signal?: AbortSignal;
}

/** Where the runner reports progress (the CLI renders it on stderr). */
export interface ProgressSink {
  phase(name: string): void;
  /** Trial `i` (1-based) of `n` of the current phase has started. */
  trial(i: number, n: number): void;
  log(line: string): void;
}
