import { AuthlabError, UsageError } from '../system/protocol/errors.js';
import { compareResults, formatCompare } from './compare.js';
import type { CompareStat } from './compare.js';
import { loadResults, writeReport } from './render.js';

/** Where commands write; tests pass collectors, the CLI uses the process streams. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CommandIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

const REPORT_USAGE = 'usage: authlab report <results.json> [--out DIR]';
const COMPARE_USAGE =
  'usage: authlab compare <base.json> <new.json> [--threshold-pct N] [--threshold-us N] [--stats p50,p99]';

interface Parsed {
  positional: string[];
  flags: Map<string, string>;
}

function parse(argv: readonly string[], known: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.includes(name)) {
      throw new UsageError(`Unknown option --${name}; known options: ${known.map((k) => `--${k}`).join(', ')}.`);
    }
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value.`);
    flags.set(name, value);
  }
  return { positional, flags };
}

function nonNegative(flags: Map<string, string>, name: string): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${name} must be a non-negative number (got '${raw}').`);
  }
  return n;
}

/** Runs `body`, mapping an AuthlabError to one sentence on stderr and its exit code; anything else is a bug and rethrown. */
async function guarded(io: CommandIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof AuthlabError) {
      io.stderr(`${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

/**
 * `authlab report <results.json> [--out DIR]`: writes report.html and summary.md (next to the
 * results by default) and prints their paths.
 *
 * @returns 0 on success, 2 on a usage error or unreadable/invalid results (one sentence on stderr).
 */
export async function reportCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  return guarded(io, async () => {
    const { positional, flags } = parse(argv, ['out']);
    if (positional.length !== 1) {
      throw new UsageError(`Expected exactly one results.json path (${REPORT_USAGE}).`);
    }
    const { htmlPath, mdPath } = await writeReport(positional[0]!, flags.get('out'));
    io.stdout(`report: ${htmlPath}\nsummary: ${mdPath}\n`);
    return 0;
  });
}

/**
 * `authlab compare <base.json> <new.json> [--threshold-pct N] [--threshold-us N] [--stats p50,p99]`:
 * prints the table of differences.
 *
 * @returns 1 when a difference is a significant regression beyond the thresholds (for CI gates),
 *   0 otherwise, 2 on a usage error or unreadable/invalid input (one sentence on stderr).
 */
export async function compareCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  return guarded(io, async () => {
    const { positional, flags } = parse(argv, ['threshold-pct', 'threshold-us', 'stats']);
    if (positional.length !== 2) {
      throw new UsageError(`Expected two results.json paths, base then new (${COMPARE_USAGE}).`);
    }
    const thresholdPct = nonNegative(flags, 'threshold-pct');
    const thresholdUs = nonNegative(flags, 'threshold-us');
    const statsRaw = flags.get('stats');
    let stats: CompareStat[] | undefined;
    if (statsRaw !== undefined) {
      const list = statsRaw.split(',').map((s) => s.trim());
      const bad = list.find((s) => s !== 'p50' && s !== 'p99');
      if (bad !== undefined) throw new UsageError(`--stats takes p50 and/or p99, comma-separated (got '${bad}').`);
      stats = list as CompareStat[];
    }
    const [base, next] = await Promise.all([loadResults(positional[0]!), loadResults(positional[1]!)]);
    const opts = {
      ...(thresholdPct !== undefined ? { thresholdPct } : {}),
      ...(thresholdUs !== undefined ? { thresholdUs } : {}),
      ...(stats ? { stats } : {}),
    };
    const rows = compareResults(base, next, opts);
    io.stdout(formatCompare(rows, opts));
    return rows.some((r) => r.regression) ? 1 : 0;
  });
}
