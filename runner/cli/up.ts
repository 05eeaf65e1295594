import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../platforms/local/index.js';
import type { KubePlatform } from '../platforms/kube/index.js';
import type { ClusterPlatform } from '../platforms/kube/deployed.js';
import { startAdminConsole, type AdminConsole } from '../admin-console/console.js';
import { platformStudyRunner } from '../admin-console/study-runner.js';
import type { UpArgs } from './args.js';
import { EXIT, UsageError } from '../../system/protocol/errors.js';
import { createLiveSeries, startObservation, type Observation } from '../live/observe.js';
import { requirePrometheus } from '../live/prometheus.js';
import { dataPlaneOption, kindTarget, preflightKind, requireLocalPlatform } from './preflight.js';
import { onShutdownSignal } from './shutdown.js';
import { describeRecovery, recoverStaleUp } from './recover.js';
import { acquireUpState, releaseUpState, runsDir, updateUpState, upPaths, type UpState } from './state.js';
import type { CliIo } from './io.js';

/**
 * `authlab up`: provisions the local platform, writes `runs/up/endpoints.json` and stays up until
 * SIGINT/SIGTERM (Ctrl-C or `authlab down`), then tears everything down and removes its files.
 * Resolves the exit code: 0 after a clean stop, 130 when interrupted during start-up.
 */
export async function upCommand(args: UpArgs, io: CliIo): Promise<number> {
  requireLocalPlatform(args.platform);
  await preflightKind(args);
  // Local: Debian's prometheus on this host. kube/kind: upstream Prometheus in the cluster, built on first use.
  if (args.observe && args.platform === 'local') requirePrometheus();
  const { dataPlaneNote, ...dataPlane } = await dataPlaneOption(args.dataPlane);
  const runs = runsDir();
  const paths = upPaths(runs);
  const startedAt = new Date().toISOString();
  const kube = args.platform === 'kube' || args.platform === 'kind';
  // Local: made here and recorded before anything starts, so a `down` after this process is killed
  // finds it. Kube: the pods live in the cluster, and `authlab cluster down` removes them.
  const workDir = kube ? undefined : await mkdtemp(join(tmpdir(), 'authlab-local-'));
  const state: UpState = {
    pid: process.pid,
    startedAt,
    status: 'starting',
    pairs: args.pairs,
    platform: args.platform,
    ...(workDir ? { workDir } : {}),
  };
  try {
    await acquireUpState(runs, state, async (stale) => io.err(`authlab up: ${describeRecovery(stale, await recoverStaleUp(stale))}`));
  } catch (err) {
    if (workDir) await rm(workDir, { recursive: true, force: true });
    throw err;
  }
  const shutdown = onShutdownSignal(() => io.err('authlab up: stopping…'));
  let platform: LocalPlatform | KubePlatform | undefined;
  let writes: Promise<void> = Promise.resolve();
  let adminConsole: AdminConsole | undefined;
  let observation: Observation | undefined;
  try {
    io.err(`authlab up: starting the ${args.platform} platform with ${args.pairs} pair(s)…`);
    const log = (l: string) => io.err(`  ${l}`);
    log(dataPlaneNote);
    if (kube) {
      // Kubernetes restarts the pods; `authlab cluster status` shows them.
      platform =
        args.platform === 'kind'
          ? await (
              await import('../platforms/kind/index.js')
            ).startKindPlatform({ ...kindTarget(args), pairs: args.pairs, signal: shutdown.signal, log, redis: args.redis, ...dataPlane })
          : await (
              await import('../platforms/kube/index.js')
            ).startKubePlatform({ pairs: args.pairs, signal: shutdown.signal, log, redis: args.redis, ...dataPlane });
    } else {
      let local: LocalPlatform | undefined;
      local = await startLocalPlatform({
        pairs: args.pairs,
        basePort: args.basePort,
        ...(workDir ? { workDir } : {}),
        restart: args.restart,
        redis: args.redis,
        ...dataPlane,
        signal: shutdown.signal,
        // Every exit or restart goes to the state file at once, for `authlab status`.
        onEvent: (_e, components) => {
          if (!local) return;
          const events = local.events().slice(-20);
          // One write at a time: two events close together must not interleave their bytes.
          writes = writes
            .then(() => updateUpState(runs, { ...state, status: 'ready', components: structuredClone(components), events }))
            .catch(() => {});
        },
        log,
      });
      platform = local;
    }
    await writeEndpoints(paths.endpoints, platform.endpoints);
    await updateUpState(
      runs,
      platform.name !== 'local'
        ? { ...state, status: 'ready' }
        : { ...state, status: 'ready', components: structuredClone((platform as LocalPlatform).status()), events: [] },
    );
    const e = platform.endpoints;
    // One live series for `up`: a study started from the admin UI counts its responses there too, so
    // the live page and Prometheus show it while it runs.
    const live = createLiveSeries();
    live.phase('up', null);
    adminConsole = await startAdminConsole({
      idpUrl: e.idp.url,
      services: e.services,
      studies: platformStudyRunner(platform, args.pairs, runs, live),
    });
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
    io.out(`authlab up: ready in ${platform.startupMs} ms`);
    io.out(`  live      ${observation.server.url}/  (runner series at /metrics)`);
    if (observation.prometheus)
      io.out(`  prometheus ${observation.prometheus.url}  (pid ${observation.prometheus.pid}, scraping every 1 s)`);
    if (observation.clusterPrometheus)
      io.out(
        `  prometheus ${observation.clusterPrometheus.url}  (in the cluster: authlab-system/prometheus, scraping every 1 s${observation.remoteWrite ? "; the runner's series pushed by remote write" : ''})`,
      );
    if (observation.clusterPrometheus?.grafana)
      io.out(`  grafana    ${observation.clusterPrometheus.grafana.url}  (dashboards in folder authlab)`);
    // endpoints.json was written before observation started: add Prometheus's URL.
    if (observation.prometheusUrl)
      await writeEndpoints(paths.endpoints, { ...platform.endpoints, prometheus: { url: observation.prometheusUrl } });
    io.out(`  idp       ${e.idp.url}${e.idp.tokenEndpoint ? `  (token endpoint: ${e.idp.tokenEndpoint}, its Go token plane)` : ''}`);
    io.out(`  admin ui  ${adminConsole.url}/admin/ui  (sign in with the admin token; can run studies on this platform)`);
    io.out(`  postgres  ${e.postgres.url.replace(/:[^:@/]+@/, ':***@')}`);
    for (const s of e.services)
      io.out(
        `  ${s.name.padEnd(9)} ${s.url}  (pair ${s.pair}, database ${s.database}${s.dataPlaneUrl ? `; outbound calls: ${s.dataPlaneUrl}` : ''})`,
      );
    io.out(`  endpoints ${relative(process.cwd(), paths.endpoints) || paths.endpoints} (admin token and passwords inside)`);
    io.out('Ctrl-C or `authlab down` stops everything.');
    if (!shutdown.signal.aborted) {
      await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    return EXIT.ok;
  } catch (err) {
    if (shutdown.received()) {
      io.err(`authlab up: interrupted during start-up; everything started so far was stopped`);
      return EXIT.interrupted;
    }
    throw err;
  } finally {
    await adminConsole?.close();
    await observation?.close();
    await platform?.close();
    await writes;
    if (workDir) await rm(workDir, { recursive: true, force: true }); // when start-up failed before the platform owned it
    await releaseUpState(runs, process.pid);
    shutdown.dispose();
    if (platform) io.err('authlab up: stopped; no process or temporary file is left');
  }
}

/**
 * Writes endpoints.json whole or not at all (temp file + rename): a script or test polling for it, or
 * reading it while Prometheus's URL is added, never reads half a file (CI once parsed an empty one).
 */
async function writeEndpoints(file: string, endpoints: object): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(endpoints, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}
