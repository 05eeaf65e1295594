import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Results } from '../../results/schema.js';
import { startLocalPlatform } from '../platforms/local/index.js';
import type { Platform } from '../platforms/platform.js';
import { createProgress } from '../progress.js';
import type { StudyArgs } from './args.js';
import { EXIT, UsageError } from '../../system/protocol/errors.js';
import type { CliIo } from './io.js';
import { requireK6, requireLocalPlatform } from './preflight.js';
import { onShutdownSignal } from './shutdown.js';
import { runsDir } from './state.js';
import { calibrationChecks } from '../../reports/auth-cost.js';
import { createLiveSeries, startObservation, teeProgress, type Observation } from '../live/observe.js';
import { requirePrometheus } from '../live/prometheus.js';

/**
 * `authlab study`: provision → run → write `results.json` → render the report → tear down. Prints the
 * report's path on stdout; progress goes to stderr. Resolves the exit code.
 */
export async function studyCommand(args: StudyArgs, io: CliIo): Promise<number> {
  requireLocalPlatform(args.platform);
  const k6Binary = args.engine === 'k6' ? await requireK6() : undefined;
  // Loaded on demand so `up`/`down`/`--help` start fast.
  const [{ runStudy }, { writeReport }, { discoverScenarios, selectScenarios }] = await Promise.all([
    import('../study/run-study.js'),
    import('../../reports/render.js'),
    import('../study/scenarios.js'),
  ]);
  // Unknown scenario names fail here, before seconds are spent provisioning; runStudy gets the result.
  const scenarios = selectScenarios(await discoverScenarios(), args.scenarios, args.quick, args.engine);
  if (args.observe) {
    if (args.platform !== 'local')
      throw new UsageError(
        `\`--observe\` starts Prometheus on this host for the local platform; the ${args.platform} platform does not support it yet`,
      );
    requirePrometheus();
  }

  const renderer = createProgress();
  const live = createLiveSeries();
  const progress = { ...teeProgress(renderer, live), stop: () => renderer.stop() };
  const shutdown = onShutdownSignal((sig) => progress.log(`authlab study: ${sig} received; stopping and tearing down…`));
  let platform: (Platform & { startupMs: number }) | undefined;
  let observation: Observation | undefined;
  let results: Results;
  try {
    progress.phase('provision');
    // The calibration hook is read by each sidecar from its environment at start (system/sidecar/
    // calibrate.ts); local children inherit ours, so it is set only while the platform starts.
    if (args.calibrateUs !== undefined) process.env.AUTHLAB_CALIBRATE_US = String(args.calibrateUs);
    else delete process.env.AUTHLAB_CALIBRATE_US;
    const log = (l: string) => progress.log(`  ${l}`);
    try {
      platform =
        args.platform === 'kube'
          ? await (await import('../platforms/kube/index.js')).startKubePlatform({ pairs: args.pairs, signal: shutdown.signal, log })
          : await startLocalPlatform({ pairs: args.pairs, basePort: args.basePort, signal: shutdown.signal, log });
    } finally {
      delete process.env.AUTHLAB_CALIBRATE_US;
    }
    progress.log(`${args.platform} platform ready: ${args.pairs} pair(s) in ${platform.startupMs} ms`);
    observation = await startObservation({
      live,
      endpoints: platform.endpoints,
      prometheus: args.observe,
      postgresStats: platform.name === 'local',
      ...(args.livePort ? { livePort: args.livePort } : {}),
      signal: shutdown.signal,
    });
    progress.log(`live page ${observation.server.url}/  (series at ${observation.server.url}/metrics)`);
    if (observation.prometheus)
      progress.log(`prometheus ${observation.prometheus.url}  (pid ${observation.prometheus.pid}, scraping every 1 s)`);
    if (args.calibrateUs !== undefined) progress.log(`calibration: enforce busy-waits ${args.calibrateUs} µs in its verify stage`);
    if (args.aa) progress.log('A/A study: observe and enforce run configured exactly like off');
    results = await runStudy(
      {
        engine: args.engine,
        ...(k6Binary === undefined ? {} : { k6Binary }),
        scenarios,
        quick: args.quick,
        trials: args.trials,
        durationS: args.durationS,
        rate: args.rate,
        design: args.design,
        seed: args.seed,
        pairs: args.pairs,
        ...(args.calibrateUs === undefined ? {} : { calibrateUs: args.calibrateUs }),
        aa: args.aa,
        live,
        signal: shutdown.signal,
      },
      platform,
      progress,
    );
  } catch (err) {
    progress.phase('teardown');
    await observation?.close();
    await platform?.close();
    progress.stop();
    shutdown.dispose();
    if (shutdown.received()) {
      io.err('authlab study: interrupted; everything was torn down and no report was written');
      return EXIT.interrupted;
    }
    throw err;
  }
  progress.phase('teardown');
  await observation?.close();
  await platform.close();
  try {
    progress.phase('report');
    const runs = runsDir();
    const outDir = args.out ? resolve(args.out) : join(runs, results.study.id);
    await mkdir(outDir, { recursive: true });
    const resultsPath = join(outDir, 'results.json');
    await writeFile(resultsPath, JSON.stringify(results, null, 2) + '\n');
    await pointLatest(runs, outDir);
    const { htmlPath, mdPath } = await writeReport(resultsPath, outDir);
    progress.stop();
    const shown = (p: string) => relative(process.cwd(), p) || p;
    io.err(`results: ${shown(resultsPath)}\nsummary: ${shown(mdPath)}`);
    io.out(shown(htmlPath));
    return calibrationExit(results, io);
  } finally {
    progress.stop();
    shutdown.dispose();
  }
}

/**
 * A calibration study fails (exit 1, one line per miss) when the in-band estimator of sign + verify —
 * where the wait is injected — does not recover it in a scenario: its CI (± the 1 µs Server-Timing
 * quantum) misses the injected µs, or it is not significant. Other estimators are reported only.
 */
function calibrationExit(results: Results, io: CliIo): number {
  const checks = calibrationChecks(results).filter((c) => c.estimator === 'in-band-auth');
  if (results.study.calibrateUs === undefined) return EXIT.ok;
  const misses = checks.filter((c) => !c.covered || !c.row.significant);
  if (checks.length === 0) {
    io.err(`authlab study: calibration: no in-band estimate of enforce − observe was made (were observe and enforce run?)`);
    return EXIT.failure;
  }
  for (const m of misses) {
    io.err(
      `authlab study: calibration missed in ${m.scenario}: in-band sign + verify estimated ${m.row.delta} µs [${m.row.ci95[0]}, ${m.row.ci95[1]}] for ${m.truthUs} µs injected${m.row.significant ? '' : ' (not significant)'}`,
    );
  }
  return misses.length > 0 ? EXIT.failure : EXIT.ok;
}

/**
 * `runs/latest` → the study's folder, only when that folder is under runs/: a study written elsewhere
 * with `--out` (often a throw-away directory) must not leave `latest` dangling.
 */
async function pointLatest(runs: string, outDir: string): Promise<void> {
  const rel = relative(runs, outDir);
  if (rel.startsWith('..') || isAbsolute(rel) || rel === '') return;
  await mkdir(runs, { recursive: true });
  const link = join(runs, 'latest');
  await rm(link, { force: true });
  await symlink(rel, link, 'dir');
}
