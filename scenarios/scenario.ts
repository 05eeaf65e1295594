import type { QueryName } from '../system/protocol/roles.js';
import type { RunMode } from '../system/protocol/modes.js';
import type { EngineName, TokenStormRecord } from '../results/schema.js';

/** One kind of request in a scenario's mix; `weight` is relative (90 and 10 make a 90/10 mix). */
export interface RequestSpec {
  query: QueryName;
  params: Record<string, unknown>;
  weight: number;
}

/**
 * How hard and how long one run of a scenario drives one target. The engine decides the model:
 * autocannon is a closed loop (with `rateRps` as its rate limit), k6 an open loop at `rateRps`.
 */
export interface LoadProfile {
  /** Connections (closed loop) or pre-allocated virtual users (open loop). */
  connections: number;
  /** Requests/s per target: arrival rate (open) or rate limit (closed); null = unlimited (closed only). */
  rateRps: number | null;
  /** Measured part of a run, seconds (after the warm-up). */
  durationS: number;
  /** Warm-up discarded before measuring, seconds. */
  warmupS: number;
  /** Trials when `--trials` is not given. */
  trials: number;
}

interface ScenarioBase {
  name: string;
  /** One sentence a report reader understands. */
  description: string;
  /** Whether the scenario runs when no `--scenarios` is given, with and without `--quick`. */
  defaultIn: { quick: boolean; full: boolean };
  /**
   * Position among the default scenarios (lower runs first; default 100). The headline scenario goes
   * first so it runs on the freshest system, before heavier scenarios leave work behind.
   */
  order?: number;
  /**
   * What the platform must offer: `redis` (extra server: the query cache of `heavy-cached`), `outage`
   * (stopping a component's process: local, and kube whose node is this host).
   */
  needs?: readonly ('redis' | 'outage')[];
}

/** A scenario driven by a load engine against every (pair, mode) of the trial plan. */
export interface LoadScenario extends ScenarioBase {
  kind: 'load';
  engines: readonly EngineName[];
  mix: readonly RequestSpec[];
  quick: LoadProfile;
  full: LoadProfile;
  /** k6 script, relative to `scenarios/k6/`. */
  k6Script: string;
  /** Modes the scenario compares (default: all four). */
  modes?: readonly RunMode[];
}

/** Sizes of one token storm (what `runner/storm`'s runTokenStorm takes, less logging and abort). */
export interface TokenStormProfile {
  /** Virtual services, each with its own SA token and token source. */
  services: number;
  /** Access-token lifetime the IdP is set to, seconds. */
  ttlSeconds: number;
  /** Refresh policies to run, one storm each (names from system/sidecar/token/refresh-policy.ts). */
  policies: string[];
  /** Token lifetimes measured after the settling ones. */
  steadyLifetimes: number;
  /** Token lifetimes after the cold start that are plotted but left out of peak/mean. */
  settleLifetimes?: number;
}

/**
 * Context handed to a scenario that runs its own hook instead of an engine. The runner injects the
 * storm driver, so scenarios stay data and hooks and never import runner/ (docs/DESIGN.md §1).
 */
export interface StormContext {
  quick: boolean;
  log: (line: string) => void;
  signal?: AbortSignal;
  runTokenStorm(profile: TokenStormProfile & { log?: (line: string) => void; signal?: AbortSignal }): Promise<TokenStormRecord[]>;
}

/** A scenario that drives the system itself (token storms): no engine, no pairs. */
export interface StormScenario extends ScenarioBase {
  kind: 'storm';
  run(ctx: StormContext): Promise<TokenStormRecord[]>;
}

/** Sizes of one replication block (one query). */
export interface ReplicationQuery {
  /** Which published query this stands for: `light` = single-row INSERT, `heavy` = the 1M-row CTE. */
  label: 'light' | 'heavy';
  request: RequestSpec;
  /** Requests per repetition (fixed count, closed loop). */
  requests: number;
  /** Requests sent and discarded in each mode before the first repetition (connections, JIT, caches). */
  warmupRequests: number;
}

/** Sizes of a replication study. */
export interface ReplicationProfile {
  /** Concurrent closed-loop workers (connections). */
  workers: number;
  repetitions: number;
  queries: readonly ReplicationQuery[];
}

/**
 * Reproduces a published mean-only design (closed loop, fixed counts, auth on vs off, repeated) so
 * authlab's method can be set beside it.
 */
export interface ReplicationScenario extends ScenarioBase {
  kind: 'replication';
  quick: ReplicationProfile;
  full: ReplicationProfile;
  /** Mode standing for "auth on" and "auth off" in the published study. */
  authOn: RunMode;
  authOff: RunMode;
}

/** Load and timing of one fault run: steady load at one pair, the fault injected after `beforeS`. */
export interface FaultProfile {
  /** Requests/s, paced on a fixed schedule over `connections` closed-loop connections. */
  rateRps: number;
  connections: number;
  /** Steady load before the fault, seconds. */
  beforeS: number;
  /** Load after the fault is over, seconds (recovery is judged here). */
  afterS: number;
}

/** Timestamps a fault's injection reports back (ms since the run's first request). */
export interface FaultWindow {
  /** What was done, in words, with pids and durations. */
  fault: string;
  startMs: number;
  endMs: number;
  /** db-restart: when the database accepted connections again. */
  dbAcceptingMs?: number | null;
}

/**
 * What a fault's injection may do to the running platform. The runner implements it (docs/DESIGN.md
 * §1: scenarios never import runner/); every method resolves when its action is complete.
 */
export interface FaultActions {
  /** ms since the run's first request. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /**
   * Stops a component's process by pid (`idp`: SIGKILL; `postgres`: the postmaster, SIGINT = fast
   * shutdown), keeps it down `holdMs` (local: the supervisor holds it; kube: the kubelet restarts the
   * container when it will), and starts it again (same config and port). Resolves once it is ready;
   * `subject` says what was stopped (`pid 123`, or the pod and container); `acceptingMs` is when the
   * database accepted connections again (postgres only).
   */
  outage(component: 'idp' | 'postgres', holdMs: number): Promise<{ subject: string; downMs: number; upMs: number; acceptingMs?: number }>;
  /** `POST /admin/refresh-tokens` (every sidecar drops its token and fetches a new one). */
  refreshAllTokens(): Promise<void>;
  /** `POST /admin/keys/rotate`: returns the new current kid and the kids the JWKS publishes afterwards. */
  rotateKeys(): Promise<{ current: string; published: string[] }>;
  /**
   * `POST /admin/keys/retire {kid}`: stops publishing a previous key now. While a service still holds
   * a token it signed (a refresh still under way) the IdP answers 409; this retries that for up to 10 s.
   */
  retireKey(kid: string): Promise<{ published: string[] }>;
  /** Kids `GET /admin/status` lists as previous (published, no longer signing). */
  previousKids(): Promise<string[]>;
  /** The IdP's access-token lifetime (`PUT /admin/settings {global: {tokenTtlSeconds}}`). */
  setTokenTtl(seconds: number): Promise<void>;
  /** Kids the IdP's JWKS publishes now. */
  publishedKids(): Promise<string[]>;
  log(line: string): void;
}

/** What a fault scenario is held to (docs/DESIGN.md §3 "Fault scenarios"). */
export type FaultTargetSpec =
  /** No failed request at all (tokens stay valid through the fault). */
  | { kind: 'no-failures' }
  /** Failures only with these statuses, and none later than `withinMs` after the database accepts connections. */
  | { kind: 'fail-only-then-recover'; statuses: readonly number[]; withinMs: number };

/** A scenario that injects a fault into the running platform under steady load at one pair. */
export interface FaultScenario extends ScenarioBase {
  kind: 'fault';
  quick: FaultProfile;
  full: FaultProfile;
  target: FaultTargetSpec;
  /** Access-token lifetime for the run, seconds (default: the platform's); restored afterwards. */
  tokenTtlSeconds?: number;
  /** Injects the fault; the runner drives the load around it. */
  inject(actions: FaultActions, quick: boolean): Promise<FaultWindow>;
}

/** Everything a file under `scenarios/` may export as its default. */
export type Scenario = LoadScenario | StormScenario | ReplicationScenario | FaultScenario;

/** Serialises a request to the sidecar's `/query` body. */
export function requestBody(spec: RequestSpec): string {
  return JSON.stringify({ query: spec.query, params: spec.params });
}
