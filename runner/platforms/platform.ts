import type { PlatformName } from '../../results/schema.js';
import type { EndpointsFile } from '../../system/protocol/endpoints.js';
import type { RunMode } from '../../system/protocol/modes.js';
import type { StormEnvironment, StormEnvironmentOptions } from '../storm/environment.js';

/** Options every platform understands. */
export interface ProvisionOptions {
  /** Number of isolated service pairs (default 4). */
  pairs: number;
  /** Lifetime of access tokens minted by the IdP, seconds. */
  tokenTtlSeconds?: number;
  /** Where the platform may keep its files (tokens, data directories); removed on close. */
  workDir?: string;
  /** Progress / log sink for human-readable lines. */
  log?: (line: string) => void;
  /** Also provide the `heavy-cached` query cache (Redis, one ACL user and key prefix per service). */
  redis?: boolean;
  /**
   * `--calibrate <µs>` on a cluster, set in the sidecar pods' environment (the local platform's children
   * inherit the runner's AUTHLAB_CALIBRATE_US instead).
   */
  calibrateUs?: number;
  /**
   * `--data-plane go`, or `auto` (the default) where Go builds it: every sidecar starts the Go data plane (`binary`, from `buildGoProgram('dataplane')`)
   * and outbound calls (`targetUrl` of a mode other than direct) go through it. Local: the binary itself,
   * each on a port of its own after the sidecars' (and Redis's); kube and kind: the sidecar image carries
   * it, on port 8081 of the sidecar's pod and Service. With `tokenPlane` (from `buildGoProgram('tokenplane')`)
   * the local platform's IdP also starts its Go token plane (system/idp/token-plane.ts) on a port of its
   * own, which discovery names as the token endpoint; kube and kind do not pack it yet.
   */
  dataPlane?: { binary: string; tokenPlane?: string };
}

/** One thing that happened to a supervised process after start-up. */
export interface PlatformEvent {
  /** ISO time. */
  at: string;
  component: string;
  /** The pid the event is about (the old one for `exited`, the new one for `restarted`). */
  pid: number;
  kind: 'exited' | 'restarted' | 'restart-failed' | 'gave-up';
  /** Human-readable: how it exited, or why a restart failed. */
  detail: string;
}

/**
 * A provisioned auth system: IdP, identity issuer, PostgreSQL and 2 × pairs sidecars, healthy.
 * Built by `runner/platforms/<name>`; consumed by the study runner and the CLI.
 */
export interface Platform {
  readonly name: PlatformName;
  readonly endpoints: EndpointsFile;
  /** Set when outbound calls (`targetUrl` of a mode other than direct) go through the sidecars' Go data plane. */
  readonly dataPlane?: 'go';
  /** The cluster's Kubernetes version, on platforms that run on one (recorded in results.json's env). */
  readonly kubernetesVersion?: string;
  /**
   * Puts pair `pair` into `mode` (docs/DESIGN.md §3 "Modes") through the IdP admin API and resolves once
   * both sidecars of the pair report they applied the new settings.
   */
  setPairMode(pair: number, mode: RunMode): Promise<void>;
  /**
   * The URL a load generator posts `{"query", "params"}` to for (pair, mode):
   * `direct` → `p<i>-b`'s `/query`; otherwise `p<i>-a`'s `/call/p<i>-b/query`.
   */
  targetUrl(pair: number, mode: RunMode): string;
  /**
   * What happened to the platform's processes since start-up (a component exited, was restarted),
   * oldest first; a study marks the runs an event fell into invalid. Optional: a platform that
   * cannot tell returns nothing.
   */
  events?(): readonly PlatformEvent[];
  /**
   * Pid of a component process (`idp` or a service name such as `p1-a`), for CPU counters; absent on
   * platforms whose components are not local processes.
   */
  componentPid?(name: string): number | undefined;
  /**
   * The token storm's world on this platform's own IdP (a storm group and grant, the storm's issuer
   * trusted, the TTL set), undone by its `close()`. Absent: the storm starts a dedicated IdP on the
   * runner's host (the local platform, whose IdP is that same program on the same host anyway).
   */
  stormEnvironment?(o: StormEnvironmentOptions): Promise<StormEnvironment>;
  /**
   * Fault injection for the fault scenarios that stop a component (issue 15); absent on platforms
   * that cannot stop a component's process (kind, a cluster behind --kubeconfig).
   */
  readonly faults?: PlatformFaults;
  /** Stops every process and removes every temporary file; idempotent. */
  close(): Promise<void>;
}

/** Times of one injected outage, epoch ms. */
export interface OutageTimes {
  /** What was stopped: `pid 123` (local), or pod, container and host pid (kube). */
  subject: string;
  downAt: number;
  /** The component runs again and is ready. */
  upAt: number;
  /** postgres: the first new connection that succeeded after the stop. */
  acceptingAt?: number;
}

/** What a platform offers the fault scenarios. */
export interface PlatformFaults {
  /**
   * Stops a component's process by pid (`idp`: SIGKILL; `postgres`: SIGINT to the postmaster, a
   * fast shutdown), keeps it down `holdMs` (where the platform can: Kubernetes restarts a container
   * on its own schedule), then starts it again (same config, same port).
   */
  outage(component: 'idp' | 'postgres', holdMs: number): Promise<OutageTimes>;
}
