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
import { spawnListeningCommand, type ListeningChild } from '../runtime/processes.js';
import { LATENCY_BUCKETS_SECONDS } from '../protocol/metrics.js';
import type { SignMode, VerifyMode } from '../protocol/modes.js';
import { SIGN_RESULTS, type SidecarMetrics } from './metrics.js';

const moduleDir = fileURLToPath(new URL('./dataplane/', import.meta.url));
const binDir = fileURLToPath(new URL('../../runs/bin/', import.meta.url));

/** The Go programs of the data plane's module: the data plane, and `bench:hop`'s Go ceiling. */
export type GoProgram = 'dataplane' | 'hop-ceiling';

/**
 * Builds one of the module's programs into `runs/bin/` with the machine's Go toolchain (Go's build cache
 * makes an unchanged rebuild about a second; fasthttp comes from the module proxy on the first build,
 * pinned by go.sum). Resolves with the binary, or with null and the reason (no Go on PATH, a build error).
 */
export async function buildGoProgram(program: GoProgram): Promise<{ binary: string } | { binary: null; reason: string }> {
  const binary = `${binDir}${program}`;
  try {
    await mkdir(binDir, { recursive: true });
    // Built beside and renamed over: a test file building it while another runs it (vitest runs two at
    // once) must neither write into a running binary (ETXTBSY) nor start a half-written one.
    const tmp = `${binary}.${process.pid}.${Date.now()}.tmp`;
    try {
      await promisify(execFile)(process.env.GO_BIN ?? 'go', ['build', '-o', tmp, `./cmd/${program}`], { cwd: moduleDir });
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
  /** Its outbound base URL: `POST <url>/call/<target>/query`. */
  readonly url: string;
  readonly pid: number | undefined;
  /** The settings revision the data plane holds (-1 before the first push). */
  revision(): number;
  /** Whether it holds the token the sidecar holds now. */
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

/** Starts the data plane, pushes the current state once, and resolves when it holds it. */
export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const secret = randomBytes(24).toString('base64url');
  const child: ListeningChild = await spawnListeningCommand(opts.binary, [], {
    AUTHLAB_DATAPLANE_SECRET: secret,
    SERVICE: opts.service,
    PEERS: JSON.stringify(opts.peers),
    BUCKETS: JSON.stringify(LATENCY_BUCKETS_SECONDS),
    HOST: opts.host ?? '127.0.0.1',
    PORT: String(opts.port ?? 0),
    // One P, as the sidecar has one event loop.
    GOMAXPROCS: process.env.GOMAXPROCS ?? '1',
  });
  const control = await controlUrlOf(child);
  const headers = { authorization: `Bearer ${secret}` };
  let pushedRevision = -1;
  let pushedToken: string | null = null;
  let inFlight: Promise<void> | null = null;
  let again = false;

  const pushOnce = async (): Promise<void> => {
    const s = opts.state();
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
    pushedRevision = s.revision;
    pushedToken = s.token?.accessToken ?? null;
  };
  const sync = (): Promise<void> => {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      try {
        do {
          again = false;
          await pushOnce();
        } while (again);
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };

  // The last snapshot read, per series: each read adds what was counted since.
  const last = new Map<string, RequestSeries>();
  const lastSigned = new Map<string, number>();
  try {
    await sync();
  } catch (err) {
    await child.stop();
    throw err;
  }
  return {
    url: child.url,
    pid: child.pid,
    revision: () => pushedRevision,
    inSync: () => pushedToken === (opts.state().token?.accessToken ?? null),
    sync: () =>
      sync().catch((err: unknown) => {
        opts.log(`could not push the token and modes to the data plane: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }),
    async readMetrics() {
      const res = await fetch(`${control}/metrics`, { headers, signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) throw new Error(`the data plane's metrics answered ${res.status}`);
      const snap = (await res.json()) as Snapshot;
      for (const result of SIGN_RESULTS) {
        const n = snap.signed[result] ?? 0;
        // A count below the last one read means the data plane restarted: all of it is new.
        const before = lastSigned.get(result) ?? 0;
        opts.metrics.addSigned(result, n >= before ? n - before : n);
        lastSigned.set(result, n);
      }
      for (const r of snap.requests) {
        const key = `${r.query}\0${r.verifyMode}\0${r.signMode}`;
        const prev = last.get(key);
        // As for the counters: a count below the last one read means everything in it is new.
        const since = prev && r.count >= prev.count ? prev : { sum: 0, count: 0, buckets: r.buckets.map(() => 0) };
        const buckets = r.buckets.map((b, i) => b - since.buckets[i]!);
        opts.metrics.addOutbound(r.query, r.verifyMode, r.signMode, buckets, r.sum - since.sum, r.count - since.count);
        last.set(key, r);
      }
    },
    async stop() {
      await child.stop();
    },
  };
}

/** The control URL from the data plane's listening line. */
async function controlUrlOf(child: ListeningChild): Promise<string> {
  if (typeof child.line.control === 'string') return child.line.control;
  await child.stop();
  throw new Error('the data plane did not say where its control API listens');
}
