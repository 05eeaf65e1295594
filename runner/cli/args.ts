import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CompareStat } from '../../reports/compare.js';
import { DESIGN_NAMES, ENGINE_NAMES, PLATFORM_NAMES, type DesignName, type EngineName, type PlatformName } from '../../results/schema.js';
import { UsageError } from '../../system/protocol/errors.js';
import { RUN_MODES, type RunMode } from '../../system/protocol/modes.js';
import { COMMAND_USAGE, USAGE, type Command } from './usage.js';
import { RESTART_POLICIES, type RestartPolicy } from '../platforms/local/supervisor.js';

export type Engine = EngineName;
export type Design = DesignName;

/** `authlab study` after validation. */
export interface StudyArgs {
  command: 'study';
  platform: PlatformName;
  engine: Engine;
  /** Empty: every scenario. */
  scenarios: string[];
  quick: boolean;
  pairs: number;
  trials?: number;
  durationS?: number;
  rate?: number;
  out?: string;
  design: Design;
  seed?: number;
  basePort?: number;
  /** `--calibrate <µs>`: busy-wait injected into enforce's verify stage (a test of the estimators). */
  calibrateUs?: number;
  /** `--data-plane go`: outbound calls go through each sidecar's Go data plane. */
  dataPlane: DataPlaneName;
  /** `--aa`: run enforce and observe configured exactly like off (an A/A study of false positives). */
  aa: boolean;
  /** `--kubeconfig <file>` (kind platform): deploy to this existing cluster instead of creating one. */
  kubeconfig?: string;
  /** `--keep-cluster` (kind platform): keep the kind cluster it created. */
  keepCluster?: true;
  /** `--k6-runners N`: k6 as N pods in the cluster (engine k6, platform kube or kind). */
  k6Runners?: number;
  /** `--observe`: start a local Prometheus scraping the platform and the runner. */
  observe: boolean;
  /** `--live-port P`: port of the live page and the runner's `/metrics` (default: a free one). */
  livePort?: number;
}

export interface UpArgs {
  command: 'up';
  platform: PlatformName;
  pairs: number;
  basePort?: number;
  /** What to do when a component exits after start-up (default `on-failure`). */
  restart: RestartPolicy;
  /** Also start Redis for the `heavy-cached` query (local only). */
  redis: boolean;
  /** `--kubeconfig <file>` (kind platform): deploy to this existing cluster instead of creating one. */
  kubeconfig?: string;
  /** `--keep-cluster` (kind platform): keep the kind cluster it created. */
  keepCluster?: true;
  observe: boolean;
  livePort?: number;
  /** `--data-plane go`: every sidecar starts its Go data plane and outbound calls go through it. */
  dataPlane: DataPlaneName;
}

/** `authlab report <results.json> [--out DIR]`. */
export interface ReportArgs {
  command: 'report';
  results: string;
  out?: string;
  /** `--history FILE`: append the study to this benchmark history and add its trend chart. */
  history?: string;
}

/** `authlab compare <base.json> <new.json> [...]`; absent thresholds take the compare defaults. */
export interface CompareArgs {
  command: 'compare';
  base: string;
  next: string;
  thresholdPct?: number;
  thresholdUs?: number;
  stats?: CompareStat[];
  /** `--relative-to MODE`: compare each mode's per-trial overhead over MODE (host drift cancels). */
  relativeTo?: RunMode;
}

/** `--help` (of `authlab` or of one command): print `usage`, exit 0. */
export interface HelpArgs {
  command: 'help';
  usage: string;
}

/** `authlab cluster build|up|down|status` (the kube platform's single-node cluster; cluster/cli.ts). */
export interface ClusterArgs {
  command: 'cluster';
  sub: ClusterSubcommand;
  /** `build --force`: rebuild the binaries even when the cache has them. */
  force: boolean;
}
export type ClusterSubcommand = 'build' | 'up' | 'down' | 'status';
const CLUSTER_SUBCOMMANDS: readonly ClusterSubcommand[] = ['build', 'up', 'down', 'status'];

export type CliArgs = StudyArgs | UpArgs | { command: 'down' } | { command: 'status' } | ReportArgs | CompareArgs | ClusterArgs | HelpArgs;

type Options = NonNullable<ParseArgsConfig['options']>;

const STUDY_OPTIONS: Options = {
  platform: { type: 'string' },
  'data-plane': { type: 'string' },
  engine: { type: 'string' },
  scenarios: { type: 'string' },
  quick: { type: 'boolean' },
  pairs: { type: 'string' },
  trials: { type: 'string' },
  duration: { type: 'string' },
  rate: { type: 'string' },
  out: { type: 'string' },
  design: { type: 'string' },
  seed: { type: 'string' },
  'base-port': { type: 'string' },
  calibrate: { type: 'string' },
  aa: { type: 'boolean' },
  kubeconfig: { type: 'string' },
  'keep-cluster': { type: 'boolean' },
  'k6-runners': { type: 'string' },
  observe: { type: 'boolean' },
  'live-port': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
const UP_OPTIONS: Options = {
  platform: { type: 'string' },
  pairs: { type: 'string' },
  'base-port': { type: 'string' },
  restart: { type: 'string' },
  redis: { type: 'boolean' },
  kubeconfig: { type: 'string' },
  'keep-cluster': { type: 'boolean' },
  observe: { type: 'boolean' },
  'live-port': { type: 'string' },
  'data-plane': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
const DOWN_OPTIONS: Options = { help: { type: 'boolean', short: 'h' } };
const STATUS_OPTIONS: Options = { help: { type: 'boolean', short: 'h' } };
const REPORT_OPTIONS: Options = { out: { type: 'string' }, history: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
const COMPARE_OPTIONS: Options = {
  'threshold-pct': { type: 'string' },
  'threshold-us': { type: 'string' },
  stats: { type: 'string' },
  'relative-to': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const CLUSTER_OPTIONS: Options = { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };

const COMMANDS = ['study', 'up', 'down', 'status', 'report', 'compare', 'cluster', 'help'];

/**
 * Parses and validates `authlab` argv (without `node` and the script): every command's flags are
 * checked here, once, and commands receive typed values. Throws {@link UsageError} with one sentence
 * naming the flag, what it must be and what was given.
 */
export function parseCli(argv: string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') return { command: 'help', usage: USAGE };
  switch (command) {
    case 'help': {
      const topic = rest[0];
      return { command: 'help', usage: topic !== undefined && isCommand(topic) ? COMMAND_USAGE[topic] : USAGE };
    }
    case 'study':
      return parseStudy(rest);
    case 'up':
      return parseUp(rest);
    case 'down':
      return parse(rest, DOWN_OPTIONS, 'down').values.help ? help('down') : { command: 'down' };
    case 'status':
      return parse(rest, STATUS_OPTIONS, 'status').values.help ? help('status') : { command: 'status' };
    case 'report':
      return parseReport(rest);
    case 'compare':
      return parseCompare(rest);
    case 'cluster':
      return parseCluster(rest);
    default:
      throw new UsageError(`unknown command '${command}'; use one of ${COMMANDS.join(', ')} (see \`authlab --help\`)`);
  }
}

function isCommand(name: string): name is Command {
  return Object.hasOwn(COMMAND_USAGE, name);
}

function help(command: Command): HelpArgs {
  return { command: 'help', usage: COMMAND_USAGE[command] };
}

/** `--rate -3` → `--rate=-3`, so a negative number is judged as a value, not taken for a flag. */
function joinNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a.startsWith('--') && !a.includes('=') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function parse(args: string[], options: Options, command: Command, allowPositionals = false) {
  const seeHelp = `see \`authlab ${command} --help\``;
  try {
    return parseArgs({ args: joinNegativeValues(args), options, strict: true, allowPositionals });
  } catch (err) {
    const e = err as Error & { code?: string };
    const flag = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(`unknown flag '${flag}' for \`authlab ${command}\`; ${seeHelp} for the flags it takes`);
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new UsageError(`\`authlab ${command}\` takes no positional argument (got '${flag}'); ${seeHelp}`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /'(--[a-z-]+)/.exec(e.message)?.[1];
      if (name && /argument missing/.test(e.message)) throw new UsageError(`\`${name}\` needs a value (${seeHelp})`);
      throw new UsageError(`${e.message.replace(/^Option /, 'flag ')}; ${seeHelp}`);
    }
    throw new UsageError(`${e.message}; ${seeHelp}`);
  }
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A positive integer flag in [min, max]; undefined when absent. */
export function intFlag(values: Values, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const what = min === 1 && max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from ${min} to ${max}`;
    throw new UsageError(`\`--${name}\` must be ${what} (got '${raw}')`);
  }
  return n;
}

/** 'a', 'b' or 'c'. */
function listOr(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function oneOf<T extends string>(values: Values, name: string, allowed: readonly T[], fallback: T): T {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw new UsageError(`\`--${name}\` must be ${listOr(allowed.map((a) => `'${a}'`))} (got '${raw}')`);
  return raw as T;
}

/** `30s`, `2m`, `500ms`, or a bare number of seconds → seconds. */
export function parseDurationS(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  const n = m ? Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[(m[2] ?? 's') as 'ms' | 's' | 'm'] : NaN;
  if (!(n > 0) || n > 24 * 3600) throw new UsageError(`\`--duration\` must be a positive duration such as 30s, 2m or 500ms (got '${raw}')`);
  return n;
}

const SCENARIO_NAME = /^[a-z0-9][a-z0-9-]*$/;

function parseStudy(rest: string[]): StudyArgs | HelpArgs {
  const { values } = parse(rest, STUDY_OPTIONS, 'study');
  if (values.help) return help('study');
  const scenariosRaw = str(values, 'scenarios');
  const scenarios = scenariosRaw === undefined ? [] : scenariosRaw.split(',').map((s) => s.trim());
  const badScenario = scenarios.find((s) => !SCENARIO_NAME.test(s));
  if (badScenario !== undefined || (scenariosRaw !== undefined && scenarios.length === 0))
    throw new UsageError(`\`--scenarios\` must be a comma-separated list of scenario names such as light,heavy (got '${scenariosRaw}')`);
  const durationRaw = str(values, 'duration');
  const out = str(values, 'out');
  if (out !== undefined && out.trim() === '') throw new UsageError('`--out` must be a directory path (got an empty string)');
  return {
    command: 'study',
    platform: oneOf(values, 'platform', PLATFORM_NAMES, 'local'),
    engine: oneOf(values, 'engine', ENGINE_NAMES, 'autocannon'),
    scenarios: [...new Set(scenarios)],
    quick: values.quick === true,
    pairs: intFlag(values, 'pairs', 1, 32) ?? 4,
    trials: intFlag(values, 'trials', 1, 1000),
    durationS: durationRaw === undefined ? undefined : parseDurationS(durationRaw),
    rate: intFlag(values, 'rate'),
    out,
    design: oneOf(values, 'design', DESIGN_NAMES, 'interleaved'),
    seed: intFlag(values, 'seed', 0),
    basePort: intFlag(values, 'base-port', 1024, 65000),
    calibrateUs: calibrateUs(values),
    dataPlane: dataPlane(values),
    aa: values.aa === true,
    ...clusterTarget(values, 'study'),
    ...k6Runners(values),
    observe: values.observe === true,
    livePort: intFlag(values, 'live-port', 1024, 65535),
  };
}

/** `--k6-runners N` (1..32): in-cluster k6 needs `--engine k6` and a cluster platform. */
function k6Runners(values: Values): { k6Runners?: number } {
  const n = intFlag(values, 'k6-runners', 1, 32);
  if (n === undefined) return {};
  if (str(values, 'engine') !== 'k6') throw new UsageError('`--k6-runners` runs k6 in the cluster: it needs `--engine k6`');
  const platform = str(values, 'platform') ?? 'local';
  if (platform !== 'kube' && platform !== 'kind')
    throw new UsageError(`\`--k6-runners\` needs a cluster: use --platform kube or --platform kind (got --platform ${platform})`);
  return { k6Runners: n };
}

/** `--kubeconfig FILE` and `--keep-cluster`: only the kind platform creates or targets a cluster of the user's. */
function clusterTarget(values: Values, command: Command): { kubeconfig?: string; keepCluster?: true } {
  const kubeconfig = str(values, 'kubeconfig');
  const keep = values['keep-cluster'] === true;
  const platform = str(values, 'platform') ?? 'local';
  if ((kubeconfig !== undefined || keep) && platform !== 'kind')
    throw new UsageError(
      `\`${kubeconfig !== undefined ? '--kubeconfig' : '--keep-cluster'}\` applies to \`--platform kind\` only (got --platform ${platform}); see \`authlab ${command} --help\``,
    );
  if (kubeconfig !== undefined && kubeconfig.trim() === '')
    throw new UsageError('`--kubeconfig` must be a kubeconfig file path (got an empty string)');
  if (kubeconfig !== undefined && keep)
    throw new UsageError('`--keep-cluster` and `--kubeconfig` exclude each other: a cluster given by `--kubeconfig` is never deleted');
  return { ...(kubeconfig !== undefined ? { kubeconfig } : {}), ...(keep ? { keepCluster: true as const } : {}) };
}

export const DATA_PLANE_NAMES = ['auto', 'node', 'go'] as const;
export type DataPlaneName = (typeof DATA_PLANE_NAMES)[number];

/**
 * `--data-plane auto|node|go` (default auto: go where the Go toolchain builds it, else node, saying why),
 * on every platform.
 */
function dataPlane(values: Values): DataPlaneName {
  return oneOf(values, 'data-plane', DATA_PLANE_NAMES, 'auto');
}

/** `--calibrate <µs>`: 1..100,000 µs; refused with `--aa` (an A/A study injects nothing). */
function calibrateUs(values: Values): number | undefined {
  const us = intFlag(values, 'calibrate', 1, 100_000);
  if (us !== undefined && values.aa === true)
    throw new UsageError('`--calibrate` and `--aa` exclude each other: an A/A study runs every mode like off, with nothing injected');
  return us;
}

function parseUp(rest: string[]): UpArgs | HelpArgs {
  const { values } = parse(rest, UP_OPTIONS, 'up');
  if (values.help) return help('up');
  return {
    command: 'up',
    platform: oneOf(values, 'platform', PLATFORM_NAMES, 'local'),
    pairs: intFlag(values, 'pairs', 1, 32) ?? 4,
    basePort: intFlag(values, 'base-port', 1024, 65000),
    restart: oneOf(values, 'restart', RESTART_POLICIES, 'on-failure'),
    redis: values.redis === true,
    ...clusterTarget(values, 'up'),
    observe: values.observe === true,
    livePort: intFlag(values, 'live-port', 1024, 65535),
    dataPlane: dataPlane(values),
  };
}

function parseReport(rest: string[]): ReportArgs | HelpArgs {
  const { values, positionals } = parse(rest, REPORT_OPTIONS, 'report', true);
  if (values.help) return help('report');
  const [results] = positionals;
  if (results === undefined || positionals.length !== 1)
    throw new UsageError(
      `\`authlab report\` takes exactly one results.json path (got ${positionals.length}); see \`authlab report --help\``,
    );
  const out = str(values, 'out');
  if (out !== undefined && out.trim() === '') throw new UsageError('`--out` must be a directory path (got an empty string)');
  const history = str(values, 'history');
  if (history !== undefined && history.trim() === '') throw new UsageError('`--history` must be a file path (got an empty string)');
  return { command: 'report', results, ...(out !== undefined ? { out } : {}), ...(history !== undefined ? { history } : {}) };
}

function parseCompare(rest: string[]): CompareArgs | HelpArgs {
  const { values, positionals } = parse(rest, COMPARE_OPTIONS, 'compare', true);
  if (values.help) return help('compare');
  const [base, next] = positionals;
  if (base === undefined || next === undefined || positionals.length !== 2)
    throw new UsageError(
      `\`authlab compare\` takes two results.json paths, base then new (got ${positionals.length}); see \`authlab compare --help\``,
    );
  const statsRaw = str(values, 'stats');
  let stats: CompareStat[] | undefined;
  if (statsRaw !== undefined) {
    const list = statsRaw.split(',').map((s) => s.trim());
    const bad = list.find((s) => s !== 'p50' && s !== 'p99');
    if (bad !== undefined) throw new UsageError(`\`--stats\` takes p50 and/or p99, comma-separated (got '${bad}')`);
    stats = [...new Set(list as CompareStat[])];
  }
  const thresholdPct = nonNegativeFlag(values, 'threshold-pct');
  const thresholdUs = nonNegativeFlag(values, 'threshold-us');
  const relativeTo = str(values, 'relative-to') === undefined ? undefined : oneOf(values, 'relative-to', RUN_MODES, 'off');
  return {
    command: 'compare',
    ...(relativeTo !== undefined ? { relativeTo } : {}),
    base,
    next,
    ...(thresholdPct !== undefined ? { thresholdPct } : {}),
    ...(thresholdUs !== undefined ? { thresholdUs } : {}),
    ...(stats ? { stats } : {}),
  };
}

/** A non-negative (possibly fractional) number flag; undefined when absent. */
function nonNegativeFlag(values: Values, name: string): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`\`--${name}\` must be a non-negative number (got '${raw}')`);
  return n;
}

function parseCluster(rest: string[]): ClusterArgs | HelpArgs {
  const { values, positionals } = parse(rest, CLUSTER_OPTIONS, 'cluster', true);
  const [sub, ...extra] = positionals;
  if (values.help || sub === undefined || sub === 'help') return help('cluster');
  if (!(CLUSTER_SUBCOMMANDS as readonly string[]).includes(sub))
    throw new UsageError(`unknown command '${sub}'; use build, up, status or down (see \`authlab cluster --help\`)`);
  if (extra.length)
    throw new UsageError(`\`authlab cluster ${sub}\` takes no positional argument (got '${extra[0]}'); see \`authlab cluster --help\``);
  const force = values.force === true;
  if (force && sub !== 'build') throw new UsageError('`--force` only applies to `authlab cluster build`');
  return { command: 'cluster', sub: sub as ClusterSubcommand, force };
}
