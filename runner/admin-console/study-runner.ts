import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform } from '../platforms/platform.js';
import type { LiveSeries } from '../live/series.js';
import { teeProgress } from '../live/observe.js';
import type { ProgressSink } from '../study/types.js';

/** What the page may ask for: a subset of `authlab study` flags. */
export interface StudyRequest {
  scenarios: string[];
  trials?: number;
  quick: boolean;
}

/** Runs studies on a platform that is already up; the console needs nothing else. */
export interface StudyRunner {
  /** Scenario names a study may pick. */
  scenarios(): Promise<string[]>;
  /** Throws the AuthlabError `authlab study` would exit 2 with (unknown scenario, …); resolves when runnable. */
  validate(req: StudyRequest): Promise<void>;
  /**
   * Runs one study to the end and writes results.json, report.html and summary.md.
   * @returns the directory holding them.
   * @throws AuthlabError (ERR_SCENARIO_UNKNOWN, …) for a request the CLI would refuse with exit 2.
   */
  run(req: StudyRequest, progress: ProgressSink, signal: AbortSignal): Promise<{ dir: string; id: string }>;
}

/**
 * The runner `authlab up` hands the console: `runStudy` on the up platform (autocannon, interleaved
 * design over the platform's pairs), output under `<runs>/<study id>/` as `authlab study` writes it.
 * The study switches pair modes as it runs, so the platform's settings change while it does.
 */
export function platformStudyRunner(platform: Platform, pairs: number, runsDir: string, live?: LiveSeries): StudyRunner {
  const load = () =>
    Promise.all([import('../study/run-study.js'), import('../../reports/render.js'), import('../study/scenarios.js')] as const);
  return {
    async scenarios() {
      const [, , { discoverScenarios }] = await load();
      return [...(await discoverScenarios()).keys()].sort();
    },
    async validate(req) {
      const [, , { discoverScenarios, selectScenarios }] = await load();
      selectScenarios(await discoverScenarios(), req.scenarios, req.quick, 'autocannon');
    },
    async run(req, progress, signal) {
      const [{ runStudy }, { writeReport }, { discoverScenarios, selectScenarios }] = await load();
      const scenarios = selectScenarios(await discoverScenarios(), req.scenarios, req.quick, 'autocannon');
      const results = await runStudy(
        {
          engine: 'autocannon',
          scenarios,
          quick: req.quick,
          ...(req.trials === undefined ? {} : { trials: req.trials }),
          design: 'interleaved',
          pairs,
          signal,
          ...(live ? { live } : {}),
        },
        platform,
        live ? teeProgress(progress, live) : progress,
      ).finally(() => live?.phase('up', null));
      progress.phase('report');
      const dir = join(runsDir, results.study.id);
      await mkdir(dir, { recursive: true });
      const resultsPath = join(dir, 'results.json');
      await writeFile(resultsPath, JSON.stringify(results, null, 2) + '\n');
      await writeReport(resultsPath, dir);
      return { dir, id: results.study.id };
    },
  };
}
