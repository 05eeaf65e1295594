import { IN_CLUSTER_SCRAPE_INTERVAL_S } from '../../cluster/deploy/observability.js';
import type { InClusterPrometheus } from '../../cluster/deploy/prometheus.js';
import type { EndpointsFile } from '../../system/protocol/endpoints.js';
import type { ProgressSink } from '../study/types.js';
import { registerPostgresStats } from './postgres-stats.js';
import { startLocalPrometheus, type LocalPrometheus } from './prometheus.js';
import { startRemoteWrite, type RemoteWrite } from './remote-write.js';
import { createLiveSeries, type LiveSeries } from './series.js';
import { startLiveServer, type LiveServer } from './server.js';

/** What `study` and `up` run beside the platform: the live series and page, and with `--observe` Prometheus. */
export interface Observation {
  readonly live: LiveSeries;
  readonly server: LiveServer;
  readonly prometheus?: LocalPrometheus;
  /** The platform's own Prometheus (kube, kind: in the cluster), when `--observe` deployed one. */
  readonly clusterPrometheus?: InClusterPrometheus;
  /** Where Prometheus answers, whichever runs it. */
  readonly prometheusUrl?: string;
  /** The runner's series pushed into the cluster's Prometheus, where it cannot scrape the runner (kind). */
  readonly remoteWrite?: RemoteWrite;
  /** Stops the remote writes (a last push), Prometheus (by pid), the live server and the PostgreSQL statistics pools. Idempotent. */
  close(): Promise<void>;
}

export interface ObservationOptions {
  live: LiveSeries;
  endpoints: EndpointsFile;
  /** Start Prometheus (`--observe`): a local one, or the cluster's when `cluster` is given. */
  prometheus: boolean;
  /**
   * A platform that runs Prometheus itself (kube, kind): `startPrometheus` deploys it, scraping the
   * runner's `/metrics` at `runnerAddress` (a second listener there) when pods can reach the runner;
   * without one the runner pushes its series there by remote write, every scrape interval.
   */
  cluster?: {
    runnerAddress?: string;
    startPrometheus(o: { runnerPort?: number; signal?: AbortSignal }): Promise<InClusterPrometheus>;
  };
  livePort?: number;
  /** Read PostgreSQL sizes and connections (the local platform, whose superuser URL is reachable). */
  postgresStats: boolean;
  /** Where a failed remote write is reported (once). */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Starts the live endpoint (and Prometheus); anything started is stopped again if a later step fails. */
export async function startObservation(o: ObservationOptions): Promise<Observation> {
  const pg = o.postgresStats
    ? registerPostgresStats(o.live.registry, o.endpoints.postgres.url, [
        { service: 'idp', database: 'idp' },
        ...o.endpoints.services.map((s) => ({ service: s.name, database: s.database })),
      ])
    : undefined;
  let server: LiveServer | undefined;
  let prometheus: LocalPrometheus | undefined;
  let clusterPrometheus: InClusterPrometheus | undefined;
  let remoteWrite: RemoteWrite | undefined;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      // First, while the port-forward and Prometheus are still there for its last push.
      await remoteWrite?.stop();
      await prometheus?.stop();
      await server?.close();
      await pg?.close();
    })());
  try {
    const runnerAddress = o.prometheus ? o.cluster?.runnerAddress : undefined;
    server = await startLiveServer({
      live: o.live,
      ...(o.livePort ? { port: o.livePort } : {}),
      ...(runnerAddress ? { metricsHost: runnerAddress } : {}),
    });
    // In the cluster, Prometheus goes with the platform's namespaces: close() stops only the remote writes.
    if (o.prometheus && o.cluster) {
      clusterPrometheus = await o.cluster.startPrometheus({
        ...(server.metricsPort ? { runnerPort: server.metricsPort } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      });
      // Pods cannot reach the runner (kind): its series go to Prometheus through the runner's own way in.
      if (!runnerAddress)
        remoteWrite = startRemoteWrite({
          registry: o.live.registry,
          url: clusterPrometheus.url,
          intervalMs: IN_CLUSTER_SCRAPE_INTERVAL_S * 1000,
          ...(o.log ? { log: o.log } : {}),
        });
    } else if (o.prometheus) {
      prometheus = await startLocalPrometheus({ endpoints: o.endpoints, runnerUrl: server.url, ...(o.signal ? { signal: o.signal } : {}) });
    }
  } catch (err) {
    await close();
    throw err;
  }
  const prometheusUrl = clusterPrometheus?.url ?? prometheus?.url;
  return {
    live: o.live,
    server,
    ...(prometheus ? { prometheus } : {}),
    ...(clusterPrometheus ? { clusterPrometheus } : {}),
    ...(prometheusUrl ? { prometheusUrl } : {}),
    ...(remoteWrite ? { remoteWrite } : {}),
    close,
  };
}

/**
 * A progress sink that also feeds the live series' phase and trial. The scenario is read from the phase
 * name (`scenario light (1 of 3)`), the one place the study names it.
 */
export function teeProgress(progress: ProgressSink, live: LiveSeries): ProgressSink {
  return {
    phase(name) {
      live.phase(name, /^scenario (\S+)/.exec(name)?.[1] ?? null);
      progress.phase(name);
    },
    trial(i, n) {
      live.trial(i, n);
      progress.trial(i, n);
    },
    log: (line) => progress.log(line),
  };
}

export { createLiveSeries };
