import { compareResults, formatCompare, setupDifferences } from '../../reports/compare.js';
import { loadResults, writeReport } from '../../reports/render.js';
import { EXIT } from '../../system/protocol/errors.js';
import type { CompareArgs, ReportArgs } from './args.js';
import type { CliIo } from './io.js';

/**
 * `authlab report`: writes report.html and summary.md (next to the results by default) and prints
 * their paths. An unreadable or invalid results file throws a ReportError (exit 2).
 */
export async function reportCommand(args: ReportArgs, io: CliIo): Promise<number> {
  const { htmlPath, mdPath } = await writeReport(args.results, args.out, args.history);
  io.out(`report: ${htmlPath}\nsummary: ${mdPath}`);
  return EXIT.ok;
}

/**
 * `authlab compare`: prints the table of differences. Resolves 1 when a difference is a significant
 * regression beyond the thresholds (for CI gates), else 0.
 */
export async function compareCommand(args: CompareArgs, io: CliIo): Promise<number> {
  const [base, next] = await Promise.all([loadResults(args.base), loadResults(args.next)]);
  const opts = {
    ...(args.thresholdPct !== undefined ? { thresholdPct: args.thresholdPct } : {}),
    ...(args.thresholdUs !== undefined ? { thresholdUs: args.thresholdUs } : {}),
    ...(args.stats ? { stats: args.stats } : {}),
    ...(args.relativeTo !== undefined ? { relativeTo: args.relativeTo } : {}),
  };
  const rows = compareResults(base, next, opts);
  const differences = setupDifferences(base, next);
  io.out(
    formatCompare(rows, opts).replace(/\n$/, '') +
      (differences.length > 0
        ? `\nThe two studies were set up differently (${differences.join('; ')}): a difference above may come from that, not from the code.`
        : ''),
  );
  return rows.some((r) => r.regression || r.unmeasured) ? EXIT.failure : EXIT.ok;
}
