import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Results } from '../../results/schema.js';
import { startLocalPlatform } from '../platforms/local/index.js';
import { findRedisServer } from '../platforms/local/redis.js';
import { setSystemCpus } from '../platforms/local/lifeline.js';
import { describePinning, pinSelf, planPinning, splitLoadGenerator, type PinPlan } from '../study/pinning.js';
import { setLoadProcessCpus } from '../engines/load-process.js';
import type { Platform } from '../platforms/platform.js';
import type { ClusterPlatform } from '../platforms/kube/deployed.js';
import type { Engine } from '../engines/types.js';
import { createProgress } from '../progress.js';
import type { StudyArgs } from './args.js';
import { AuthlabError, EXIT, UsageError } from '../../system/protocol/errors.js';
import type { CliIo } from './io.js';
import { dataPlaneOption, kindTarget, preflightKind, requireK6, requireLocalPlatform } from './preflight.js';
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
  await preflightKind(args);
  // Loaded on demand so `up`/`down`/`--help` start fast.
  const [{ runStudy }, { writeReport }, { discoverScenarios, selectScenarios }] = await Promise.all([
    import('../study/run-study.js'),
    import('../../reports/render.js'),
    import('../study/scenarios.js'),
  ]);
  // Unknown scenario names fail here, before seconds are spent provisioning; runStudy gets the result.
  const scenarios = selectScenarios(await discoverScenarios(), args.scenarios, args.quick, args.engine);
  // Stopping a component's process needs its pid: the local platform's children, or on kube (whose
  // node is this host) the container's process; kind's nodes and a --kubeconfig cluster are out of reach.
  const fault = scenarios.find((s) => s.needs?.includes('outage'));
  if (fault && args.platform !== 'local' && args.platform !== 'kube') {
    throw new AuthlabError(
      'ERR_SCENARIO_PLATFORM',
      `scenario '${fault.name}' stops a component's process, which the ${args.platform} platform cannot do from here; run it with --platform local or kube`,
    );
  }
  const redisNeeded = scenarios.filter((s) => s.needs?.includes('redis'));
  // The local platform runs redis-server; kube and kind pack the same binary into their Redis image.
  if (redisNeeded.length > 0 && findRedisServer() === null) {
    throw new AuthlabError(
      'ERR_TOOL_MISSING',
      `scenario ${redisNeeded[0]!.name} needs redis-server, which is not installed: apt-get install redis-server, or leave it out of --scenarios`,
    );
  }
  // Local: Debian's prometheus on this host. kube/kind: upstream Prometheus in the cluster, built on first use.
  if (args.observe && args.platform === 'local') requirePrometheus();
  // Built before provisioning, so a machine without Go learns it in a second, not after start-up.
  const { dataPlaneNote, ...dataPlane } = await dataPlaneOption(args.dataPlane);

  const renderer = createProgress();
  const live = createLiveSeries();
  const progress = { ...teeProgress(renderer, live), stop: () => renderer.stop() };
  const shutdown = onShutdownSignal((sig) => progress.log(`authlab study: ${sig} received; stopping and tearing down…`));
  let platform: (Platform & { startupMs: number }) | undefined;
  let observation: Observation | undefined;
  let results: Results;
  let pinning: PinPlan | undefined;
  let inCluster: (Engine & { close(): Promise<void> }) | undefined;
  try {
    progress.phase('provision');
    // Disjoint CPUs for the load generator (this process, its k6 child) and the system under test
    // where the host has ≥ 4; components started from here on inherit the system's set (lifeline.ts).
    pinning =
      args.platform === 'local'
        ? planPinning()
        : { pinned: false, reason: `not pinned: the ${args.platform} platform's pods are placed by Kubernetes` };
    if (pinning.pinned) {
      // autocannon's load process gets CPUs apart from the orchestrator's when there are two or more.
      const split = args.engine === 'autocannon' ? splitLoadGenerator(pinning.loadGenerator) : null;
      pinSelf(split?.orchestrator ?? pinning.loadGenerator);
      setLoadProcessCpus(split?.loadProcess ?? null);
      setSystemCpus(pinning.system);
      if (split && split.loadProcess[0] !== split.orchestrator[0])
        progress.log(
          `  autocannon's load process on CPUs ${split.loadProcess.join(',')}, the orchestrator on CPU ${split.orchestrator.join(',')}`,
        );
    }
    progress.log(describePinning(pinning));
    // The calibration hook is read by each sidecar from its environment at start (system/sidecar/
    // calibrate.ts); local children inherit ours, so it is set only while the platform starts.
    if (args.calibrateUs !== undefined) process.env.AUTHLAB_CALIBRATE_US = String(args.calibrateUs);
    else delete process.env.AUTHLAB_CALIBRATE_US;
    const log = (l: string) => progress.log(`  ${l}`);
    const redis = scenarios.some((s) => s.needs?.includes('redis'));
    // Cluster pods do not inherit the runner's environment: the hook goes into their spec.
    const calibrate = args.calibrateUs === undefined ? {} : { calibrateUs: args.calibrateUs };
    try {
      platform =
        args.platform === 'kube'
          ? await (
              await import('../platforms/kube/index.js')
            ).startKubePlatform({ pairs: args.pairs, signal: shutdown.signal, log, redis, ...calibrate, ...dataPlane })
          : args.platform === 'kind'
            ? await (
                await import('../platforms/kind/index.js')
              ).startKindPlatform({
                ...kindTarget(args),
                pairs: args.pairs,
                signal: shutdown.signal,
                log,
                redis,
                ...calibrate,
                ...dataPlane,
              })
            : await startLocalPlatform({ pairs: args.pairs, basePort: args.basePort, signal: shutdown.signal, log, redis, ...dataPlane });
    } finally {
      delete process.env.AUTHLAB_CALIBRATE_US;
    }
    progress.log(`${args.platform} platform ready: ${args.pairs} pair(s) in ${platform.startupMs} ms`);
    if (args.k6Runners !== undefined) {
      inCluster = await inClusterK6(platform as ClusterPlatform, args.k6Runners, k6Binary!, log);
      progress.log(`k6 runs as ${args.k6Runners} pod(s) in the cluster (namespace authlab-load)`);
    }
    observation = await startObservation({
      live,
      endpoints: platform.endpoints,
      prometheus: args.observe,
      ...(platform.name !== 'local' ? { cluster: platform as ClusterPlatform } : {}),
      postgresStats: platform.name === 'local',
      ...(args.livePort ? { livePort: args.livePort } : {}),
      log,
      signal: shutdown.signal,
    });
    progress.log(`live page ${observation.server.url}/  (series at ${observation.server.url}/metrics)`);
    if (observation.prometheus)
      progress.log(`prometheus ${observation.prometheus.url}  (pid ${observation.prometheus.pid}, scraping every 1 s)`);
    if (observation.clusterPrometheus)
      progress.log(
        `prometheus ${observation.clusterPrometheus.url}  (in the cluster: authlab-system/prometheus, scraping every 1 s${observation.remoteWrite ? "; the runner's series pushed by remote write" : ''})`,
      );
    if (observation.clusterPrometheus?.grafana)
      progress.log(`grafana    ${observation.clusterPrometheus.grafana.url}  (dashboards in folder authlab)`);
    if (args.calibrateUs !== undefined) progress.log(`calibration: enforce busy-waits ${args.calibrateUs} µs in its verify stage`);
    if (args.aa) progress.log('A/A study: observe and enforce run configured exactly like off');
    progress.log(dataPlaneNote);
    results = await runStudy(
      {
        engine: args.engine,
        ...(k6Binary === undefined ? {} : { k6Binary }),
        ...(inCluster ? { engineInstance: inCluster, k6Runners: args.k6Runners } : {}),
        scenarios,
        quick: args.quick,
        pinning,
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
    await inCluster?.close();
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
  await inCluster?.close();
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
    const faultMisses = faultTargetMisses(results, io);
    return Math.max(calibrationExit(results, io), faultMisses);
  } finally {
    progress.stop();
    shutdown.dispose();
  }
}

/** A fault scenario that missed a target fails the study (exit 1), one line per miss. */
function faultTargetMisses(results: Results, io: CliIo): number {
  let missed = false;
  for (const f of results.faults ?? []) {
    for (const t of f.targets) {
      if (t.met) continue;
      missed = true;
      io.err(`authlab study: ${f.scenario} missed its target "${t.target}": ${t.measured}`);
    }
  }
  return missed ? EXIT.failure : EXIT.ok;
}

/**
 * The in-cluster k6 engine on a cluster platform: packs the runner's k6 and scenarios/k6 as an image,
 * loads it the way the platform loaded its own, and maps the platform's URLs to the ClusterIP URLs pods use.
 */
async function inClusterK6(
  platform: ClusterPlatform,
  runners: number,
  k6Binary: string,
  log: (line: string) => void,
): Promise<Engine & { close(): Promise<void> }> {
  const [{ k6Image }, { kubeCacheRoot }, { K6_SCRIPTS_DIR }, { buildK6ClusterEngine }] = await Promise.all([
    import('../../cluster/images/k6-image.js'),
    import('../../cluster/paths.js'),
    import('../engines/k6.js'),
    import('../engines/k6-cluster.js'),
  ]);
  const cache = join(kubeCacheRoot(), 'images');
  const image = await k6Image(cache, k6Binary, K6_SCRIPTS_DIR, log);
  await platform.loadImages([image]);
  const ep = platform.endpoints;
  const bases: [string, string][] = [
    [ep.idp.url, ep.inCluster.idp],
    ...ep.services.map((s): [string, string] => [s.url, ep.inCluster.services[s.name] ?? s.url]),
    ...ep.services.flatMap((s): [string, string][] =>
      s.dataPlaneUrl && ep.inCluster.dataPlanes?.[s.name] ? [[s.dataPlaneUrl, ep.inCluster.dataPlanes[s.name]!]] : [],
    ),
  ];
  return buildK6ClusterEngine({
    kubeconfig: ep.kubeconfig,
    runners,
    image: image.ref,
    // Node from the sidecar image the platform deployed and loaded already.
    nodeImage: platform.images.sidecar.ref,
    inClusterUrl: (url) => {
      const hit = bases.find(([host]) => url === host || url.startsWith(`${host}/`));
      return hit ? hit[1] + url.slice(hit[0].length) : undefined;
    },
    log,
  });
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
