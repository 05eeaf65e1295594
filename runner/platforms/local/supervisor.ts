import type { PlatformEvent } from '../platform.js';

export type { PlatformEvent } from '../platform.js';

/** What the platform does when one of its processes exits on its own. */
export const RESTART_POLICIES = ['on-failure', 'no'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** The current state of one supervised process. */
export interface ComponentStatus {
  pid: number;
  state: 'running' | 'restarting' | 'down';
  restarts: number;
  url?: string;
  lastEvent?: PlatformEvent;
}

/** A process the platform started and can start again with the same config and port. */
export interface Supervised {
  name: string;
  url?: string;
  pid(): number;
  /** Resolves when the current process exits: a short description of how (`signal SIGKILL`, `code 1`). */
  exited(): Promise<string>;
  /** Starts it again; resolves once it is ready. */
  restart(): Promise<void>;
}

export interface SupervisorOptions {
  policy: RestartPolicy;
  /** Called at once for every event (the console line, the state file). */
  onEvent: (event: PlatformEvent, status: Readonly<Record<string, ComponentStatus>>) => void;
  /** Restarts allowed per component within `windowMs` before giving up. Default 5 in 60 s. */
  maxRestarts?: number;
  windowMs?: number;
  now?: () => number;
}

export interface Supervisor {
  watch(p: Supervised): void;
  /** Teardown is starting: exits from now on are expected. */
  stop(): void;
  /**
   * The next exit of `name` is a fault injected on purpose: it is reported like any exit, then the
   * process is left down `holdMs` and started again whatever the policy (not counted against
   * `maxRestarts`). Resolves once it runs again; rejects when the restart fails.
   */
  hold(name: string, holdMs: number): Promise<void>;
  events(): readonly PlatformEvent[];
  status(): Readonly<Record<string, ComponentStatus>>;
}

/**
 * Watches the platform's processes after start-up: an exit that teardown did not ask for is an
 * event at once, and with `on-failure` the process is started again (same config, same port) unless
 * it keeps dying (more than `maxRestarts` in `windowMs`: then it is left down and said so).
 */
export function createSupervisor(o: SupervisorOptions): Supervisor {
  const now = o.now ?? Date.now;
  const maxRestarts = o.maxRestarts ?? 5;
  const windowMs = o.windowMs ?? 60_000;
  const events: PlatformEvent[] = [];
  const status: Record<string, ComponentStatus> = {};
  let stopping = false;
  const holds = new Map<string, { holdMs: number; done: (err?: Error) => void }>();

  const emit = (p: Supervised, kind: PlatformEvent['kind'], pid: number, detail: string) => {
    const e: PlatformEvent = { at: new Date(now()).toISOString(), component: p.name, pid, kind, detail };
    events.push(e);
    const s = status[p.name];
    if (s) s.lastEvent = e;
    o.onEvent(e, status);
  };

  async function loop(p: Supervised): Promise<void> {
    const restartsAt: number[] = [];
    for (;;) {
      const pid = p.pid();
      const how = await p.exited();
      if (stopping) return;
      const s = status[p.name]!;
      const planned = holds.get(p.name);
      if (planned) {
        holds.delete(p.name);
        s.state = 'restarting';
        emit(p, 'exited', pid, `${how}; fault injected, restart in ${planned.holdMs} ms`);
        await new Promise((r) => setTimeout(r, planned.holdMs));
        if (stopping) return planned.done(new Error('the platform is being torn down'));
        try {
          await p.restart();
        } catch (err) {
          s.state = 'down';
          emit(p, 'restart-failed', pid, (err as Error).message.split('\n')[0] ?? String(err));
          return planned.done(err as Error);
        }
        s.state = 'running';
        s.restarts++;
        s.pid = p.pid();
        emit(p, 'restarted', s.pid, `restart ${s.restarts} (after an injected fault)`);
        planned.done();
        continue;
      }
      s.state = o.policy === 'no' ? 'down' : 'restarting';
      emit(p, 'exited', pid, how);
      if (o.policy === 'no') return;
      const t = now();
      while (restartsAt.length > 0 && restartsAt[0]! < t - windowMs) restartsAt.shift();
      if (restartsAt.length >= maxRestarts) {
        s.state = 'down';
        emit(p, 'gave-up', pid, `exited ${maxRestarts + 1} times within ${windowMs / 1000} s; left down`);
        return;
      }
      restartsAt.push(t);
      try {
        await p.restart();
      } catch (err) {
        if (stopping) return;
        s.state = 'down';
        emit(p, 'restart-failed', pid, (err as Error).message.split('\n')[0] ?? String(err));
        return;
      }
      if (stopping) return;
      s.state = 'running';
      s.restarts++;
      s.pid = p.pid();
      emit(p, 'restarted', s.pid, `restart ${s.restarts}`);
    }
  }

  return {
    watch(p) {
      status[p.name] = { pid: p.pid(), state: 'running', restarts: 0, ...(p.url ? { url: p.url } : {}) };
      void loop(p);
    },
    stop() {
      stopping = true;
    },
    hold(name, holdMs) {
      if (!status[name]) return Promise.reject(new RangeError(`no supervised component named ${name}`));
      if (holds.has(name)) return Promise.reject(new Error(`a fault is already pending for ${name}`));
      return new Promise<void>((resolve, reject) => holds.set(name, { holdMs, done: (err) => (err ? reject(err) : resolve()) }));
    },
    events: () => events,
    status: () => status,
  };
}

/** `signal SIGKILL` or `code 1`, for event details. */
export function describeExit(x: { code: number | null; sig: NodeJS.Signals | null }): string {
  return x.sig ? `signal ${x.sig}` : `code ${x.code}`;
}
