import type { Clock } from '../../system/sidecar/token/token-source.js';

/** A manual clock for scheduler tests: time moves only when `advance` is called. */
export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, firing due timers in order and letting their promises settle. */
  advance(ms: number): Promise<void>;
  pending(): number;
}

export function createFakeClock(startMs = 1_700_000_000_000): FakeClock {
  let now = startMs;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(h) {
      timers.delete(h as number);
    },
    pending: () => timers.size,
    async advance(ms) {
      const end = now + ms;
      await settle();
      for (;;) {
        let nextId = -1;
        let nextAt = Infinity;
        for (const [id, t] of timers) if (t.at <= end && t.at < nextAt) (nextAt = t.at), (nextId = id);
        if (nextId < 0) break;
        const t = timers.get(nextId)!;
        timers.delete(nextId);
        now = Math.max(now, t.at);
        t.fn();
        await settle();
      }
      now = end;
      await settle();
    },
  };
}
