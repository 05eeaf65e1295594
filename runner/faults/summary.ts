import type { FaultPhase, FaultRecord, FaultTarget } from '../../results/schema.js';
import type { FaultTargetSpec, FaultWindow } from '../../scenarios/scenario.js';
import type { LoggedRequest } from './driver.js';

/** Error codes that mean a token lapsed: the target saw an expired one, or the caller held none. */
const LAPSE_CODES = new Set(['ERR_TOKEN_EXPIRED', 'ERR_NO_TOKEN']);

const failedKey = (r: LoggedRequest): string => (r.status === 0 ? (r.code ?? 'network') : String(r.status));
const endMs = (r: LoggedRequest): number => r.tMs + r.latencyUs / 1000;

function phase(list: readonly LoggedRequest[]): FaultPhase {
  const p: FaultPhase = { sent: list.length, ok: 0, failed: {} };
  for (const r of list) {
    if (r.status === 200) p.ok++;
    else p.failed[failedKey(r)] = (p.failed[failedKey(r)] ?? 0) + 1;
  }
  return p;
}

export type FaultSummary = Pick<
  FaultRecord,
  'phases' | 'lastFailureMs' | 'timeToRecoverMs' | 'tokenLapsed' | 'targets' | 'faultStartMs' | 'faultEndMs' | 'durationMs'
> & { dbAcceptingMs?: number | null };

/**
 * Splits a fault run's request log into before / during / after, finds the last failure and the time
 * to recover, and judges the scenario's target on those figures. A request is *before* when it
 * completed before the fault began, *after* when it started once the fault was over, and *during*
 * otherwise — every request the fault could touch, including one in flight when it began (a read
 * started a millisecond before PostgreSQL's fast shutdown fails with it; counted before, it read as
 * a failure of the healthy baseline).
 *
 * Time to recover is measured from the fault's end, or for db-restart from the database accepting
 * connections again: the last failed request's completion minus that point (0 when nothing failed
 * after it; null when the run ended on a failure, so recovery was never seen).
 */
export function summariseFault(log: readonly LoggedRequest[], w: FaultWindow, target: FaultTargetSpec): FaultSummary {
  const before = log.filter((r) => endMs(r) < w.startMs);
  const during = log.filter((r) => endMs(r) >= w.startMs && r.tMs < w.endMs);
  const after = log.filter((r) => r.tMs >= w.endMs);
  const failures = log.filter((r) => r.status !== 200);
  const lastFailure = failures.length > 0 ? Math.max(...failures.map(endMs)) : null;
  const ref = w.dbAcceptingMs ?? w.endMs;
  const last = log.at(-1);
  const timeToRecoverMs =
    lastFailure === null || lastFailure <= ref ? 0 : last && last.status !== 200 ? null : Math.round(lastFailure - ref);
  const tokenLapsed = log.some((r) => r.code !== undefined && LAPSE_CODES.has(r.code));
  const byStatus = phase(failures).failed;
  const failedText = failures.length === 0 ? '0 failed' : `${failures.length} failed (${describe(byStatus, failures)})`;
  const targets: FaultTarget[] = [];
  if (target.kind === 'no-failures') {
    targets.push({
      target: '0 failed requests while tokens are valid',
      met: failures.length === 0 && !tokenLapsed,
      measured: `${failedText} of ${log.length}; ${tokenLapsed ? 'a token lapsed' : 'no token lapsed'}`,
    });
  } else {
    const allowed = new Set(target.statuses.map(String));
    const others = Object.keys(byStatus).filter((k) => !allowed.has(k));
    targets.push({
      target: `fails only with ${target.statuses.join(' or ')}`,
      met: others.length === 0,
      measured: `${failedText} of ${log.length}`,
    });
    const reference = w.dbAcceptingMs === undefined ? 'the fault ends' : 'the database accepts connections';
    targets.push({
      target: `recovers within ${target.withinMs / 1000} s of when ${reference}`,
      met: timeToRecoverMs !== null && timeToRecoverMs <= target.withinMs && (w.dbAcceptingMs === undefined || w.dbAcceptingMs !== null),
      measured:
        w.dbAcceptingMs === null
          ? 'the database probe never saw it accept connections'
          : timeToRecoverMs === null
            ? 'still failing when the run ended'
            : lastFailure === null
              ? 'no request failed'
              : `last failed request completed ${Math.abs(Math.round(lastFailure - ref))} ms ${lastFailure >= ref ? 'after' : 'before'} that`,
    });
  }
  return {
    durationMs: last ? Math.round(endMs(last)) : 0,
    faultStartMs: Math.round(w.startMs),
    faultEndMs: Math.round(w.endMs),
    ...(w.dbAcceptingMs !== undefined ? { dbAcceptingMs: w.dbAcceptingMs === null ? null : Math.round(w.dbAcceptingMs) } : {}),
    phases: { before: phase(before), during: phase(during), after: phase(after) },
    lastFailureMs: lastFailure === null ? null : Math.round(lastFailure),
    timeToRecoverMs,
    tokenLapsed,
    targets,
  };
}

/** `33 × 503, 13 × network (13 × ECONNREFUSED)`: a connection failure says what the connection did. */
function describe(byStatus: Record<string, number>, failures: readonly LoggedRequest[]): string {
  return Object.entries(byStatus)
    .map(([k, n]) => {
      if (k !== 'network') return `${n} × ${k}`;
      const causes = new Map<string, number>();
      for (const r of failures)
        if (r.status === 0 && r.code === 'network') causes.set(r.cause ?? '?', (causes.get(r.cause ?? '?') ?? 0) + 1);
      return `${n} × network (${[...causes].map(([c, m]) => `${m} × ${c}`).join(', ')})`;
    })
    .join(', ');
}
