/**
 * A Go child a Node component keeps running: the sidecar's data plane (system/sidecar/data-plane.ts) and
 * the IdP's token plane (system/idp/token-plane.ts). Both listen on an address their clients hold and
 * have a control API the component pushes its state to, so one that exits on its own is started again on
 * the same address and primed (its state pushed) before it counts as up again.
 */
import { spawnListeningCommand, type ListeningChild } from './processes.js';

/** First wait before restarting a child that exited; doubled while it keeps dying young, up to the max. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 5000;
/** A child that lived this long before exiting is restarted after the first wait again. */
const RESTART_RESET_AFTER_MS = 10_000;

export interface SupervisedChildOptions {
  /** What it is, in log lines ("data plane"). */
  name: string;
  binary: string;
  /** Its environment (besides process.env); `HOST` and `PORT` are set from `host` and `port`. */
  env: Record<string, string>;
  host?: string;
  /** 0 or absent: the OS picks one for the first process; a restart listens on that same port. */
  port?: number;
  /** Brings a freshly started process up to date (pushes the state); a throw means it is not kept. */
  prime(control: string): Promise<void>;
  /** Called as soon as the process is found gone (before its restart is scheduled). */
  onDown?(): void;
  /** Called when a restarted process is started, before it is primed (a new process counts from zero). */
  onReplaced?(): void;
  /** Called once a restarted process is primed and up. */
  onRestarted?(): void;
  log(msg: string): void;
}

export interface SupervisedChild {
  /** Its base URL (the same after a restart). */
  readonly url: string;
  /** The running process's pid; undefined while it is being restarted. */
  readonly pid: number | undefined;
  /** The running process's control URL (from its listening line). */
  control(): string;
  /** Whether a process is up and primed (false from its unexpected exit until its restart is primed). */
  up(): boolean;
  /** How many times it was restarted after exiting on its own. */
  restarts(): number;
  /** Bumped by every restart: a read begun against an earlier process is stale. */
  generation(): number;
  /** Stops it (and a restart under way); resolves once it is gone. */
  stop(): Promise<void>;
}

/**
 * Starts the child, primes it and resolves once it is up. From then on it is supervised: one that exits on
 * its own is started again on the same address (after 100 ms, doubling up to 5 s while it keeps dying
 * within 10 s) and primed before `up()` is true again.
 */
export async function startSupervisedChild(opts: SupervisedChildOptions): Promise<SupervisedChild> {
  const spawnOne = (port: number): Promise<ListeningChild> =>
    spawnListeningCommand(opts.binary, [], { ...opts.env, HOST: opts.host ?? '127.0.0.1', PORT: String(port) });
  const controlOf = (child: ListeningChild): string => {
    if (typeof child.line.control === 'string') return child.line.control;
    throw new Error(`the ${opts.name} did not say where its control API listens`);
  };
  let current = await spawnOne(opts.port ?? 0);
  let control: string;
  try {
    control = controlOf(current);
    await opts.prime(control);
  } catch (err) {
    await current.stop();
    throw err;
  }
  // A restart listens where the first one did, so clients keep its address (also when port 0 was asked).
  const url = current.url;
  const port = Number(new URL(url).port);
  let up = true;
  let stopping = false;
  let restarts = 0;
  let generation = 0;
  let startedAt = Date.now();
  let restartWaitMs = RESTART_MIN_MS;
  let restarting: Promise<void> | null = null;

  const restart = async (): Promise<void> => {
    while (!stopping) {
      await new Promise((r) => setTimeout(r, restartWaitMs));
      restartWaitMs = Math.min(restartWaitMs * 2, RESTART_MAX_MS);
      if (stopping) return;
      let next: ListeningChild | null = null;
      try {
        next = await spawnOne(port);
        if (stopping) return void (await next.stop());
        control = controlOf(next);
        current = next;
        startedAt = Date.now();
        generation++;
        opts.onReplaced?.();
        await opts.prime(control);
        watch(next);
        // Up only once it holds the state: a health check between the start and the prime says down.
        up = true;
        restarts++;
        opts.onRestarted?.();
        opts.log(`${opts.name} restarted (pid ${next.pid}) on ${url}`);
        return;
      } catch (err) {
        opts.log(
          `could not restart the ${opts.name}: ${err instanceof Error ? err.message : String(err)}; retrying in ${restartWaitMs} ms`,
        );
        // Started but not primed: it is not the process to keep.
        await next?.stop();
      }
    }
  };
  const watch = (c: ListeningChild): void => {
    const exited = (code: number | null, signal: NodeJS.Signals | null) => {
      if (stopping || c !== current) return;
      up = false;
      opts.onDown?.();
      if (Date.now() - startedAt >= RESTART_RESET_AFTER_MS) restartWaitMs = RESTART_MIN_MS;
      opts.log(`${opts.name} (pid ${c.pid}) exited (${signal ?? `code ${code}`}); restarting it in ${restartWaitMs} ms`);
      const p = restart().finally(() => {
        if (restarting === p) restarting = null;
      });
      restarting = p;
    };
    if (c.child.exitCode !== null || c.child.signalCode !== null) exited(c.child.exitCode, c.child.signalCode);
    else c.child.once('exit', exited);
  };
  watch(current);

  return {
    url,
    get pid() {
      return up ? current.pid : undefined;
    },
    control: () => control,
    up: () => up,
    restarts: () => restarts,
    generation: () => generation,
    async stop() {
      stopping = true;
      up = false;
      await restarting; // a restart under way stops what it started
      await current.stop();
    },
  };
}

/** What {@link newestStatePush} returns. */
export interface StatePush {
  /** Pushes now, or after the push in flight; resolves once a push begun after this call is done. */
  sync(control?: string): Promise<void>;
  /** Resolves once no push is in flight. */
  settled(): Promise<void>;
  /** A new process's first push (`SupervisedChildOptions.prime`): after the one in flight, to the process that died. */
  prime(control: string): Promise<void>;
}

/**
 * Pushes a component's newest state to its Go child's control API: one push in flight at a time; calls
 * during it make one more push after it (which reads the state then), so the child ends up with the newest.
 * `push` sends to the control URL it is given; `control` says the current one.
 */
export function newestStatePush(push: (control: string) => Promise<void>, control: () => string): StatePush {
  let inFlight: Promise<void> | null = null;
  let again = false;
  const sync = (to?: string): Promise<void> => {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      try {
        do {
          again = false;
          await push(to ?? control());
        } while (again);
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };
  return {
    sync,
    settled: () => (inFlight ? inFlight.catch(() => {}) : Promise.resolve()),
    async prime(to) {
      await inFlight?.catch(() => {});
      await sync(to);
    },
  };
}
