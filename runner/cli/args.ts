import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../../system/protocol/errors.js';

export type Engine = 'autocannon' | 'k6';
export type Design = 'interleaved' | 'sequential';

/** `authlab study` after validation. */
export interface StudyArgs {
  command: 'study';
  platform: 'local' | 'kind';
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
}

export interface UpArgs {
  command: 'up';
  platform: 'local' | 'kind';
  pairs: number;
  basePort?: number;
}

export type CliArgs =
  | StudyArgs
  | UpArgs
  | { command: 'down' }
  | { command: 'help' }
  | { command: 'report' | 'compare'; argv: string[] };

type Options = NonNullable<ParseArgsConfig['options']>;

const STUDY_OPTIONS: Options = {
  platform: { type: 'string' },
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
  help: { type: 'boolean', short: 'h' },
};
const UP_OPTIONS: Options = {
  platform: { type: 'string' },
  pairs: { type: 'string' },
  'base-port': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const COMMANDS = ['study', 'up', 'down', 'report', 'compare', 'help'];

/**
 * Parses and validates `authlab` argv (without `node` and the script). Throws {@link UsageError} with
 * one sentence naming the flag, what it must be and what was given.
 */
export function parseCli(argv: string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return { command: 'help' };
  switch (command) {
    case 'study':
      return parseStudy(rest);
    case 'up':
      return parseUp(rest);
    case 'down':
      parse(rest, { help: { type: 'boolean', short: 'h' } }, 'down');
      return rest.length ? { command: 'help' } : { command: 'down' };
    case 'report':
    case 'compare':
      // reports/cli.ts owns these flags and validates them itself.
      return { command, argv: rest };
    default:
      throw new UsageError(`unknown command '${command}'; use one of ${COMMANDS.join(', ')} (see \`authlab --help\`)`);
  }
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

function parse(args: string[], options: Options, command: string) {
  try {
    return parseArgs({ args: joinNegativeValues(args), options, strict: true, allowPositionals: false });
  } catch (err) {
    const e = err as Error & { code?: string };
    const flag = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(`unknown flag '${flag}' for \`authlab ${command}\`; see \`authlab --help\` for the flags it takes`);
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new UsageError(`\`authlab ${command}\` takes no positional argument (got '${flag}'); see \`authlab --help\``);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /'(--[a-z-]+)/.exec(e.message)?.[1];
      if (name && /argument missing/.test(e.message)) throw new UsageError(`\`${name}\` needs a value (see \`authlab --help\`)`);
      throw new UsageError(`${e.message.replace(/^Option /, 'flag ')}; see \`authlab --help\``);
    }
    throw new UsageError(`${e.message}; see \`authlab --help\``);
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

function oneOf<T extends string>(values: Values, name: string, allowed: readonly T[], fallback: T): T {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw new UsageError(`\`--${name}\` must be ${allowed.map((a) => `'${a}'`).join(' or ')} (got '${raw}')`);
  return raw as T;
}

/** `30s`, `2m`, `500ms`, or a bare number of seconds → seconds. */
export function parseDurationS(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  const n = m ? Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 }[(m[2] ?? 's') as 'ms' | 's' | 'm']) : NaN;
  if (!(n > 0) || n > 24 * 3600)
    throw new UsageError(`\`--duration\` must be a positive duration such as 30s, 2m or 500ms (got '${raw}')`);
  return n;
}

const SCENARIO_NAME = /^[a-z0-9][a-z0-9-]*$/;

function parseStudy(rest: string[]): StudyArgs | { command: 'help' } {
  const { values } = parse(rest, STUDY_OPTIONS, 'study');
  if (values.help) return { command: 'help' };
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
    platform: oneOf(values, 'platform', ['local', 'kind'] as const, 'local'),
    engine: oneOf(values, 'engine', ['autocannon', 'k6'] as const, 'autocannon'),
    scenarios: [...new Set(scenarios)],
    quick: values.quick === true,
    pairs: intFlag(values, 'pairs', 1, 32) ?? 4,
    trials: intFlag(values, 'trials', 1, 1000),
    durationS: durationRaw === undefined ? undefined : parseDurationS(durationRaw),
    rate: intFlag(values, 'rate'),
    out,
    design: oneOf(values, 'design', ['interleaved', 'sequential'] as const, 'interleaved'),
    seed: intFlag(values, 'seed', 0),
    basePort: intFlag(values, 'base-port', 1024, 65000),
  };
}

function parseUp(rest: string[]): UpArgs | { command: 'help' } {
  const { values } = parse(rest, UP_OPTIONS, 'up');
  if (values.help) return { command: 'help' };
  return {
    command: 'up',
    platform: oneOf(values, 'platform', ['local', 'kind'] as const, 'local'),
    pairs: intFlag(values, 'pairs', 1, 32) ?? 4,
    basePort: intFlag(values, 'base-port', 1024, 65000),
  };
}
