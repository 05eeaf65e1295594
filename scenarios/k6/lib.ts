// Shared k6 driver for authlab scenarios (k6 runs TypeScript natively; this folder is outside tsc).
// The runner passes everything through environment variables so one script shape serves every
// scenario; each scenario file only names its default mix for standalone `k6 run`.
//
// AUTHLAB_TARGETS    JSON array, one entry per target driven at the same time by this one k6
//                    process (a trial's pairs): {url, bodies, model, rate, vus, maxVus, durationS,
//                    warmupS, count}. Target i runs as k6 scenarios `warmup_i` (discarded) and
//                    `measure_i`. Without it, a single target from the variables below:
// AUTHLAB_URL        target URL (POST)
// AUTHLAB_BODIES     JSON array of request bodies, one cycle of the weighted mix (expanded by the runner)
// AUTHLAB_MODEL      open | closed | count
// AUTHLAB_RATE       arrival rate, requests/s (open)
// AUTHLAB_VUS        VUs (closed, count); open loop: lower bound of AUTHLAB_MAX_VUS
// AUTHLAB_MAX_VUS    VUs of the open loop, all pre-allocated; when all are busy k6 drops iterations (run invalid)
// AUTHLAB_DURATION_S measured seconds; AUTHLAB_WARMUP_S warm-up seconds (scenario `warmup_0`, discarded)
// AUTHLAB_COUNT      fixed request count (model count)
import http from 'k6/http';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import { sleep } from 'k6';

// Server-Timing stages the sidecars report; metric names allow no '-', so it is written '__'.
// `auth` and `in-sidecar` are derived per request, as runner/engines/histogram.ts `derivedStages` does
// for autocannon (k6 scripts cannot import the runner; keep the two formulas alike).
const STAGES = [
  'verify',
  'db',
  'upstream',
  'sign',
  'total',
  'peer-verify',
  'peer-db',
  'peer-upstream',
  'peer-sign',
  'peer-total',
  'verify-cpu',
  'sign-cpu',
  'peer-verify-cpu',
  'auth',
  'in-sidecar',
];

/** `auth` = sign + verify; `in-sidecar` = (total − upstream) + (peer-total − peer-db), or total − db direct; ms. */
function derived(ms: Record<string, number>): [number, number] | null {
  const total = ms['total'];
  if (total === undefined) return null;
  const auth = (ms['sign'] ?? 0) + (ms['verify'] ?? 0) + (ms['peer-verify'] ?? 0);
  const upstream = ms['upstream'];
  const peerTotal = ms['peer-total'];
  const inSidecar =
    upstream !== undefined ? total - upstream + (peerTotal !== undefined ? peerTotal - (ms['peer-db'] ?? 0) : 0) : total - (ms['db'] ?? 0);
  return [auth, Math.max(0, inSidecar)];
}

interface Target {
  url: string;
  bodies: string[];
  model: string;
  rate: number;
  vus: number;
  maxVus: number;
  durationS: number;
  warmupS: number;
  count: number;
}

function num(name: string, fallback: number): number {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : Number(v);
}

function secs(s: number): string {
  return `${Math.max(0, Math.round(s * 1000))}ms`;
}

function fromEnv(defaultBodies: string[]): Target {
  const vus = num('AUTHLAB_VUS', 10);
  return {
    url: __ENV.AUTHLAB_URL || 'http://127.0.0.1:8080/query',
    bodies: __ENV.AUTHLAB_BODIES ? JSON.parse(__ENV.AUTHLAB_BODIES) : defaultBodies,
    model: __ENV.AUTHLAB_MODEL || 'open',
    rate: num('AUTHLAB_RATE', 100),
    vus,
    maxVus: num('AUTHLAB_MAX_VUS', Math.max(vus, 50)),
    durationS: num('AUTHLAB_DURATION_S', 10),
    warmupS: num('AUTHLAB_WARMUP_S', 2),
    count: num('AUTHLAB_COUNT', 1000),
  };
}

function scenariosOf(t: Target, i: number, out: Record<string, Record<string, unknown>>): void {
  if (t.model === 'count') {
    out[`measure_${i}`] = { executor: 'shared-iterations', vus: t.vus, iterations: t.count, maxDuration: '30m' };
  } else if (t.model === 'closed') {
    if (t.warmupS > 0) out[`warmup_${i}`] = { executor: 'constant-vus', vus: t.vus, duration: secs(t.warmupS), gracefulStop: '0s' };
    out[`measure_${i}`] = {
      executor: 'constant-vus',
      vus: t.vus,
      duration: secs(t.durationS),
      startTime: secs(t.warmupS),
      gracefulStop: '5s',
    };
  } else {
    // All VUs pre-allocated: a VU started mid-run drops the iteration that needed it, which would
    // flag a run invalid for k6's own start-up rather than for the target's slowness.
    const vus = Math.max(t.vus, t.maxVus);
    const open = { executor: 'constant-arrival-rate', rate: t.rate, timeUnit: '1s', preAllocatedVUs: vus, maxVUs: vus };
    if (t.warmupS > 0) out[`warmup_${i}`] = { ...open, duration: secs(t.warmupS), gracefulStop: '5s' };
    out[`measure_${i}`] = { ...open, duration: secs(t.durationS), startTime: secs(t.warmupS), gracefulStop: '5s' };
  }
}

export function makeScript(defaultBodies: string[]): { options: Record<string, unknown>; run: () => void; setup: () => void } {
  const targets: Target[] = __ENV.AUTHLAB_TARGETS ? JSON.parse(__ENV.AUTHLAB_TARGETS) : [fromEnv(defaultBodies)];
  const scenarios: Record<string, Record<string, unknown>> = {};
  targets.forEach((t, i) => scenariosOf(t, i, scenarios));

  // Trends must be created in the init context; one per Server-Timing stage the sidecar reports.
  const stageTrends: Record<string, Trend> = {};
  for (const s of STAGES) stageTrends[s] = new Trend(`authlab_st_${s.replace(/-/g, '__')}`);
  const params = { headers: { 'content-type': 'application/json' } };

  return {
    options: {
      scenarios,
      discardResponseBodies: true,
      // Fewer tags → a smaller CSV for the runner to fold (one row per metric per request).
      systemTags: ['status', 'scenario'],
      summaryTrendStats: ['med', 'p(99)', 'max'],
      setupTimeout: '120s',
    },
    // In-cluster runners (AUTHLAB_START_AT_MS, epoch ms): every pod waits for the same instant, so
    // their execution segments run side by side (setup runs before any scenario starts).
    setup(): void {
      const at = Number(__ENV.AUTHLAB_START_AT_MS || 0);
      const waitS = (at - Date.now()) / 1000;
      if (waitS > 0) sleep(waitS);
    },
    run(): void {
      const name = exec.scenario.name;
      const t = targets[Number(name.slice(name.indexOf('_') + 1))] as Target;
      const body = t.bodies[exec.scenario.iterationInTest % t.bodies.length];
      const res = http.post(t.url, body, params);
      if (res.status < 200 || res.status >= 300) return;
      const header = res.headers['Server-Timing'];
      if (!header) return;
      const ms: Record<string, number> = {};
      let cpuMeasured = false;
      for (const part of header.split(',')) {
        const semi = part.indexOf(';');
        const at = part.indexOf('dur=');
        if (semi < 0 || at < 0) continue;
        const name = part.slice(0, semi).trim();
        ms[name] = parseFloat(part.slice(at + 4));
        if (name.endsWith('-cpu')) cpuMeasured = true;
      }
      // As runner/engines/histogram.ts: a response whose CPU was measured gives only its CPU entries
      // (reading the CPU clock lengthened its stages); the others give their times and derived figures.
      for (const name of Object.keys(ms)) {
        if (cpuMeasured !== name.endsWith('-cpu')) continue;
        stageTrends[name]?.add(ms[name] as number);
      }
      const d = cpuMeasured ? null : derived(ms);
      if (d) {
        stageTrends['auth']?.add(d[0]);
        stageTrends['in-sidecar']?.add(d[1]);
      }
    },
  };
}
