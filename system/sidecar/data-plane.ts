/**
 * The sidecar's Go data plane for outbound calls (dataplane/cmd/dataplane, docs/ARCHITECTURE.md "The Go
 * data plane"): built from the Go module beside this file, started by the sidecar as its child, fed the
 * sidecar's token and modes through its control API, and read back into the sidecar's metrics.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { newestStatePush, startSupervisedChild, type SupervisedChild } from '../runtime/supervised-child.js';
import { Counter } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS, METRICS } from '../protocol/metrics.js';
import type { SignMode, VerifyMode } from '../protocol/modes.js';
import { SIGN_RESULTS, type SidecarMetrics } from './metrics.js';

const moduleDir = fileURLToPath(new URL('./dataplane/', import.meta.url));
const binDir = fileURLToPath(new URL('../../runs/bin/', import.meta.url));

/** The Go programs of the data plane's module: the data plane, `bench:hop`'s Go ceilings (fasthttp, event loop), the IdP's token plane. */
export type GoProgram = 'dataplane' | 'hop-ceiling' | 'hop-loop' | 'tokenplane';

/**
 * Builds one of the module's programs into `runs/bin/` with the machine's Go toolchain, statically linked
 * (Go's build cache makes an unchanged rebuild about a second; fasthttp comes from the module proxy on
 * the first build, pinned by go.sum). Resolves with the binary, or with null and the reason (no Go on PATH, a build error).
 */
export async function buildGoProgram(program: GoProgram): Promise<{ binary: string } | { binary: null; reason: string }> {
  const binary = `${binDir}${program}`;
  try {
    await mkdir(binDir, { recursive: true });
    // Built beside and renamed over: a test file building it while another runs it (vitest runs two at
    // once) must neither write into a running binary (ETXTBSY) nor start a half-written one.
    const tmp = `${binary}.${process.pid}.${Date.now()}.tmp`;
    try {
      // Static (no cgo) and without this checkout's paths: the same binary runs here and in the sidecar
      // image of the kube and kind platforms, which carries no C library of its own for it.
      await promisify(execFile)(process.env.GO_BIN ?? 'go', ['build', '-trimpath', '-o', tmp, `./cmd/${program}`], {
        cwd: moduleDir,
        env: { ...process.env, CGO_ENABLED: '0' },
      });
      await rename(tmp, binary);
    } finally {
      await rm(tmp, { force: true });
    }
    return { binary };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    return {
      binary: null,
      reason: e.code === 'ENOENT' ? 'no Go toolchain on PATH (go)' : `go build failed: ${(e.stderr ?? e.message).trim()}`,
    };
  }
}

/** What the control plane pushes: the modes in force and the held token (null while none is held). */
export interface DataPlaneState {
  revision: number;
  signMode: SignMode;
  verifyMode: VerifyMode;
  token: { accessToken: string; expiresAt: number } | null;
}

export interface DataPlane {
  /** Its outbound base URL: `POST <url>/call/<target>/query` (the same after a restart). */
  readonly url: string;
  /** The running process's pid; undefined while it is being restarted. */
  readonly pid: number | undefined;
  /** Whether a data plane process is up (false from its unexpected exit until its restart holds the state). */
  running(): boolean;
  /** How many times it was restarted after exiting on its own. */
  restarts(): number;
  /** The settings revision the data plane holds (-1 before the first push, and while it is down). */
  revision(): number;
  /** Whether it holds the token the sidecar holds now (false while it is down). */
  inSync(): boolean;
  /** Pushes `state()` now, or after the push in flight; resolves once a push of the newest state is done. */
  sync(): Promise<void>;
  /** Adds what the data plane counted since the last read to the sidecar's metrics. */
  readMetrics(): Promise<void>;
  stop(): Promise<void>;
}

/** One label set's cumulative request histogram as the data plane counts it. */
interface RequestSeries {
  query: string;
  verifyMode: VerifyMode;
  signMode: SignMode;
  buckets: number[];
  sum: number;
  count: number;
}

interface Snapshot {
  signed: Record<string, number>;
  requests: RequestSeries[];
}

export interface DataPlaneOptions {
  binary: string;
  service: string;
  peers: Record<string, string>;
  host?: string;
  port?: number;
  metrics: SidecarMetrics;
  /** The state to push, read at each push (so a push always carries the newest). */
  state: () => DataPlaneState;
  log: (msg: string) => void;
}

/**
 * Starts the data plane, pushes the current state once, and resolves when it holds it. From then on it
 * is supervised (system/runtime/supervised-child.ts): one that exits on its own is started again on the
 * same address, and until the new one holds the token and settings `running()` is false, so the
 * sidecar's readiness says so.
 */
export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const secret = randomBytes(24).toString('base64url');
  const headers = { authorization: `Bearer ${secret}` };
  // Registered only on a sidecar that has a data plane, so the series means something wherever it exists.
  const restartsTotal = new Counter({
    name: METRICS.sidecarDataPlaneRestartsTotal,
    help: "Times the sidecar's Go data plane exited on its own and the sidecar started it again.",
    registers: [opts.metrics.registry],
  });
  let supervised: SupervisedChild | undefined;
  let pushedRevision = -1;
  let pushedToken: string | null | undefined;
  // Unexpected exits so far: a push answered across one is not what the next process holds.
  let downs = 0;
  // The last snapshot read, per series: each read adds what was counted since (cleared on a restart,
  // whose process counts from zero).
  const last = new Map<string, RequestSeries>();
  const lastSigned = new Map<string, number>();

  const pushOnce = async (control: string): Promise<void> => {
    const s = opts.state();
    const downsBefore = downs;
    const res = await fetch(`${control}/state`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        signMode: s.signMode,
        verifyMode: s.verifyMode,
        token: s.token?.accessToken ?? null,
        expiresAt: s.token?.expiresAt ?? null,
      }),
      signal: AbortSignal.timeout(5000),
    });
    if (res.status !== 204) throw new Error(`the data plane refused its state: ${res.status} ${await res.text()}`);
    if (downs !== downsBefore) return; // it exited while this push was answered: the restart pushes again
    pushedRevision = s.revision;
    pushedToken = s.token?.accessToken ?? null;
  };
  const pushes = newestStatePush(pushOnce, () => supervised!.control());

  supervised = await startSupervisedChild({
    name: 'data plane',
    binary: opts.binary,
    env: {
      AUTHLAB_DATAPLANE_SECRET: secret,
      SERVICE: opts.service,
      PEERS: JSON.stringify(opts.peers),
      BUCKETS: JSON.stringify(LATENCY_BUCKETS_SECONDS),
      // Two Ps: its requests run on one epoll loop (serve/loop.go), as the sidecar's on one event loop;
      // the second keeps the loop's P while it waits in epoll_wait, and runs the control API and the GC.
      GOMAXPROCS: process.env.GOMAXPROCS ?? '2',
    },
    host: opts.host,
    port: opts.port,
    prime: pushes.prime,
    onDown: () => {
      downs++;
      pushedRevision = -1;
      pushedToken = undefined;
    },
    onReplaced: () => {
      last.clear();
      lastSigned.clear();
    },
    onRestarted: () => restartsTotal.inc(),
    log: opts.log,
  });
  const sup = supervised;
  return {
    url: sup.url,
    get pid() {
      return sup.pid;
    },
    running: () => sup.up(),
    restarts: () => sup.restarts(),
    revision: () => pushedRevision,
    inSync: () => sup.up() && pushedToken === (opts.state().token?.accessToken ?? null),
    sync: () =>
      pushes.sync().catch((err: unknown) => {
        opts.log(`could not push the token and modes to the data plane: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }),
    async readMetrics() {
      if (!sup.up()) return; // what the exited one counted since the last read is lost with it
      const gen = sup.generation();
      const res = await fetch(`${sup.control()}/metrics`, { headers, signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) throw new Error(`the data plane's metrics answered ${res.status}`);
      const snap = (await res.json()) as Snapshot;
      if (gen !== sup.generation()) return;
      for (const result of SIGN_RESULTS) {
        const n = snap.signed[result] ?? 0;
        // A snapshot older than the one already applied (two scrapes at once) adds nothing.
        if (n < (lastSigned.get(result) ?? 0)) continue;
        opts.metrics.addSigned(result, n - (lastSigned.get(result) ?? 0));
        lastSigned.set(result, n);
      }
      for (const r of snap.requests) {
        const key = `${r.query}\0${r.verifyMode}\0${r.signMode}`;
        const since = last.get(key) ?? { sum: 0, count: 0, buckets: r.buckets.map(() => 0) };
        if (r.count < since.count) continue;
        const buckets = r.buckets.map((b, i) => b - since.buckets[i]!);
        opts.metrics.addOutbound(r.query, r.verifyMode, r.signMode, buckets, r.sum - since.sum, r.count - since.count);
        last.set(key, r);
      }
    },
    stop: () => sup.stop(),
  };
}
