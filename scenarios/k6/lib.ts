// Shared k6 driver for authlab scenarios (k6 runs TypeScript natively; this folder is outside tsc).
// The runner passes everything through environment variables so one script shape serves every
// scenario; each scenario file only names its default mix for standalone `k6 run`.
//
// AUTHLAB_URL        target URL (POST)
// AUTHLAB_BODIES     JSON array of request bodies, one cycle of the weighted mix (expanded by the runner)
// AUTHLAB_MODEL      open | closed | count
// AUTHLAB_RATE       arrival rate, requests/s (open)
// AUTHLAB_VUS        VUs (closed, count); open loop: lower bound of AUTHLAB_MAX_VUS
// AUTHLAB_MAX_VUS    VUs of the open loop, all pre-allocated; when all are busy k6 drops iterations (run invalid)
// AUTHLAB_DURATION_S measured seconds; AUTHLAB_WARMUP_S warm-up seconds (scenario `warmup`, discarded)
// AUTHLAB_COUNT      fixed request count (model count)
import http from 'k6/http';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';

const STAGES = ['verify', 'db', 'upstream', 'sign', 'total'];

function num(name: string, fallback: number): number {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : Number(v);
}

function secs(s: number): string {
  return `${Math.max(0, Math.round(s * 1000))}ms`;
}

export function makeScript(defaultBodies: string[]): { options: Record<string, unknown>; run: () => void } {
  const url = __ENV.AUTHLAB_URL || 'http://127.0.0.1:8080/query';
  const bodies: string[] = __ENV.AUTHLAB_BODIES ? JSON.parse(__ENV.AUTHLAB_BODIES) : defaultBodies;
  const model = __ENV.AUTHLAB_MODEL || 'open';
  const rate = num('AUTHLAB_RATE', 100);
  const vus = num('AUTHLAB_VUS', 10);
  const maxVus = num('AUTHLAB_MAX_VUS', Math.max(vus, 50));
  const durationS = num('AUTHLAB_DURATION_S', 10);
  const warmupS = num('AUTHLAB_WARMUP_S', 2);
  const count = num('AUTHLAB_COUNT', 1000);

  const scenarios: Record<string, Record<string, unknown>> = {};
  if (model === 'count') {
    scenarios.measure = { executor: 'shared-iterations', vus, iterations: count, maxDuration: '30m' };
  } else if (model === 'closed') {
    if (warmupS > 0) scenarios.warmup = { executor: 'constant-vus', vus, duration: secs(warmupS), gracefulStop: '0s' };
    scenarios.measure = { executor: 'constant-vus', vus, duration: secs(durationS), startTime: secs(warmupS), gracefulStop: '5s' };
  } else {
    // All VUs pre-allocated: a VU started mid-run drops the iteration that needed it, which would
    // flag a run invalid for k6's own start-up rather than for the target's slowness.
    const open = { executor: 'constant-arrival-rate', rate, timeUnit: '1s', preAllocatedVUs: Math.max(vus, maxVus), maxVUs: Math.max(vus, maxVus) };
    if (warmupS > 0) scenarios.warmup = { ...open, duration: secs(warmupS), gracefulStop: '5s' };
    scenarios.measure = { ...open, duration: secs(durationS), startTime: secs(warmupS), gracefulStop: '5s' };
  }

  // Trends must be created in the init context; one per Server-Timing stage the sidecar reports.
  const stageTrends: Record<string, Trend> = {};
  for (const s of STAGES) stageTrends[s] = new Trend(`authlab_st_${s}`);
  const params = { headers: { 'content-type': 'application/json' } };

  return {
    options: {
      scenarios,
      discardResponseBodies: true,
      // Fewer tags → a smaller CSV for the runner to fold (one row per metric per request).
      systemTags: ['status', 'scenario'],
      summaryTrendStats: ['med', 'p(99)', 'max'],
    },
    run(): void {
      const i = exec.scenario.iterationInTest;
      const body = bodies[i % bodies.length];
      const res = http.post(url, body, params);
      if (res.status < 200 || res.status >= 300) return;
      const header = res.headers['Server-Timing'];
      if (!header) return;
      for (const part of header.split(',')) {
        const semi = part.indexOf(';');
        const at = part.indexOf('dur=');
        if (semi < 0 || at < 0) continue;
        const trend = stageTrends[part.slice(0, semi).trim()];
        if (trend) trend.add(parseFloat(part.slice(at + 4)));
      }
    },
  };
}
