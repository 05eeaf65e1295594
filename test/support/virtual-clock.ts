import type { Clock } from '../../system/sidecar/token/token-source.js';

/**
 * A fake clock for tests: time moves only when `advance` is called. Built for running a token storm
 * on a virtual timeline (thousands of token sources and several token lifetimes in a fraction of a
 * second, deterministic given the random source); the token-source tests use it too. Timers
 * fire in time order; between instants the clock yields to the event loop so promise chains
 * started by a timer (a token fetch and its bookkeeping) settle before time moves on.
 */
export interface VirtualClock extends Clock {
  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): Promise<void>;
  /** Timers not yet fired. */
  pending(): number;
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** @param startMs initial `now()`, ms since epoch (default 1.7e12, a plausible wall-clock time). */
export function createVirtualClock(startMs = 1_700_000_000_000): VirtualClock {
  let now = startMs;
  let seq = 0;
  let live = 0;
  const heap: Timer[] = [];

  const less = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  const push = (t: Timer) => {
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  };
  const pop = (): Timer | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  // setImmediate runs after every queued microtask, i.e. after all promise chains have settled.
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  return {
    now: () => now,
    setTimeout(fn, ms) {
      const t: Timer = { at: now + Math.max(0, ms), seq: seq++, fn, cancelled: false };
      live++;
      push(t);
      return t;
    },
    clearTimeout(handle) {
      const t = handle as Timer | null;
      if (t && !t.cancelled) {
        t.cancelled = true;
        live--;
      }
    },
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (;;) {
        const top = heap[0];
        if (!top || top.at > target) break;
        now = top.at;
        // Fire everything due at this instant, then let the promise chains they started settle.
        while (heap[0] && heap[0].at === now) {
          const t = pop()!;
          if (t.cancelled) continue;
          t.cancelled = true;
          live--;
          t.fn();
        }
        await settle();
      }
      now = target;
    },
    pending: () => live,
  };
}
