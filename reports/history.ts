import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ReportError } from '../results/errors.js';
import { summarize } from '../results/hdr.js';
import type { Results } from '../results/schema.js';
import { MODE_COLORS, type ChartSpec, type Series } from './html/charts.js';
import { mergedByScenarioMode } from './model.js';

/** One study in a benchmark history: its headline figures (µs), keyed `<scenario> <mode> p50|p99`. */
const EntrySchema = Type.Object({
  studyId: Type.String(),
  at: Type.String(),
  platform: Type.String(),
  commit: Type.Union([Type.String(), Type.Null()]),
  figuresUs: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
});
const HistorySchema = Type.Object({ historyVersion: Type.Literal(1), entries: Type.Array(EntrySchema) });
export type HistoryEntry = Static<typeof EntrySchema>;
export type History = Static<typeof HistorySchema>;

/** Entries kept: a nightly benchmark's quarter of a year; older ones fall off the front. */
export const HISTORY_MAX_ENTRIES = 90;

/** Headline figures of a study: p50 and p99 of the merged histogram of each scenario × mode's valid runs. */
export function headlineFigures(results: Results): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, hist] of mergedByScenarioMode(results.runs)) {
    const [scenario, mode] = key.split('\u0000');
    const s = summarize(hist);
    out[`${scenario} ${mode} p50`] = s.p50;
    out[`${scenario} ${mode} p99`] = s.p99;
  }
  return out;
}

/** Reads a history file; a missing file is an empty history, a malformed one a ReportError (exit 2). */
export async function readHistory(path: string): Promise<History> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { historyVersion: 1, entries: [] };
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (!Value.Check(HistorySchema, data))
    throw new ReportError(
      'ERR_RESULTS_SCHEMA',
      `${path} is not an authlab benchmark history (historyVersion 1); remove it or pass another --history file.`,
    );
  return data;
}

/**
 * Appends `results` to the history at `path` (replacing an entry of the same study id, so re-rendering
 * does not count a study twice), keeps the last {@link HISTORY_MAX_ENTRIES}, writes it, and resolves it.
 */
export async function appendHistory(path: string, results: Results): Promise<History> {
  const history = await readHistory(path);
  const entry: HistoryEntry = {
    studyId: results.study.id,
    at: results.study.startedAt,
    platform: results.study.platform,
    commit: results.study.git?.commit ?? null,
    figuresUs: headlineFigures(results),
  };
  const entries = [...history.entries.filter((e) => e.studyId !== entry.studyId), entry].slice(-HISTORY_MAX_ENTRIES);
  const next: History = { historyVersion: 1, entries };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(next, null, 2) + '\n');
  return next;
}

/**
 * The trend of the headline figures across a history, one chart per scenario: x is the run's place in
 * the history (oldest first), p50 solid and p99 dashed per mode, like github-action-benchmark's chart.
 */
export function trendCharts(history: History, idPrefix = 'trend'): { scenario: string; chart: ChartSpec }[] {
  const scenarios = new Map<string, Map<string, Series>>();
  history.entries.forEach((e, i) => {
    for (const [key, us] of Object.entries(e.figuresUs)) {
      const [scenario, mode, stat] = key.split(' ');
      if (!scenario || !mode || !stat) continue;
      const series = scenarios.get(scenario) ?? new Map<string, Series>();
      scenarios.set(scenario, series);
      const label = `${mode} ${stat}`;
      const s = series.get(label) ?? {
        label,
        color: MODE_COLORS[mode] ?? '#999999',
        ...(stat === 'p99' ? { dashed: true } : {}),
        points: [],
      };
      series.set(label, s);
      s.points.push([i + 1, us]);
    }
  });
  return [...scenarios].map(([scenario, series], i) => ({
    scenario,
    chart: {
      kind: 'line',
      id: `${idPrefix}-${i}`,
      yUnit: 'us',
      xLabel: 'benchmark run (oldest → newest)',
      yLabel: 'latency',
      series: [...series.values()],
    },
  }));
}
