import type { FaultRecord } from '../results/schema.js';

/** One series of a fault timeline: requests/s per bin by outcome (`ok`, `503`, `timeout`, ...). */
export interface FaultSeries {
  outcome: string;
  /** [bin start, s since the run's first request; requests/s started in that bin]. */
  points: [number, number][];
}

/**
 * A fault run's request log as requests/s per `binMs` bin, one series per outcome (ok first, then
 * each failure status), by request start time.
 */
export function faultTimeline(r: FaultRecord, binMs = 250): FaultSeries[] {
  const { tMs, status } = r.requestLog;
  const bins = Math.max(1, Math.ceil((Math.max(0, ...tMs) + 1) / binMs));
  const counts = new Map<string, number[]>();
  for (let i = 0; i < tMs.length; i++) {
    const key = status[i] === 200 ? 'ok' : status[i] === 0 ? 'no response' : String(status[i]);
    let c = counts.get(key);
    if (!c) counts.set(key, (c = new Array<number>(bins).fill(0)));
    c[Math.floor(tMs[i]! / binMs)]!++;
  }
  const keys = [...counts.keys()].sort((a, b) => (a === 'ok' ? -1 : b === 'ok' ? 1 : a.localeCompare(b)));
  return keys.map((outcome) => ({
    outcome,
    points: counts.get(outcome)!.map((n, k): [number, number] => [(k * binMs) / 1000, (n * 1000) / binMs]),
  }));
}
