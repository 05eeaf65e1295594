// k6 driver of bench:hop's interleaved rounds: POST BODY at RATE requests/s (constant-arrival-rate, open
// loop) to several TARGETS in turn, SLICE_MS each, so every target is measured in the same seconds of the
// host as the others. The slice clock is the wall clock from EPOCH_MS (the bench reads the targets' CPU
// on the same clock, sliced-rate.ts): a request goes to target floor((now − EPOCH_MS) / SLICE_MS) mod N.
// A WARMUP phase of the same rotation comes first; then DURATION seconds are measured. Prints one JSON
// summary line to stdout: per target its measured quantiles and counts, and what k6 dropped.
// Every VU is allocated before its scenario starts (preAllocatedVUs = maxVUs): a VU made mid-run takes
// milliseconds to initialise, and at 2,000 requests/s a stall of a few ms in the target needs more than
// the 20 VUs the bench's first k6 script preallocated, so k6 itself dropped iterations of the measured
// phase (up to 96 per 8-s run, in nine of ten, `bench:hop` 2026-12-03) and the target was offered less
// than RATE; against a target answering in 100 ms at 400/s, 403 of the 800 measured iterations
// (sliced-rate.test.ts). With all 200 made up front, the same runs dropped none in their measured phase.
import http from 'k6/http';

const targets = JSON.parse(__ENV.TARGETS);
const rate = Number(__ENV.RATE);
const sliceMs = Number(__ENV.SLICE_MS);
const epochMs = Number(__ENV.EPOCH_MS);
const headers = { 'content-type': 'application/json' };
const params = targets.map((t) => ({ headers, tags: { target: t.name } }));
const VUS = 200;

const thresholds = { 'dropped_iterations{scenario:measure}': ['count>=0'] };
// Declared so the summary carries each target's own figures (k6 keeps a submetric only for a threshold).
for (const t of targets) {
  thresholds[`http_req_duration{phase:measure,target:${t.name}}`] = ['max>=0'];
  thresholds[`http_reqs{phase:measure,target:${t.name}}`] = ['count>=0'];
  thresholds[`http_reqs{target:${t.name}}`] = ['count>=0'];
  thresholds[`http_req_failed{phase:measure,target:${t.name}}`] = ['rate>=0'];
}

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ['med', 'p(99)'],
  scenarios: {
    warmup: {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit: '1s',
      duration: `${__ENV.WARMUP}s`,
      preAllocatedVUs: VUS,
      maxVUs: VUS,
      tags: { phase: 'warmup' },
    },
    measure: {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit: '1s',
      startTime: `${__ENV.WARMUP}s`,
      duration: `${__ENV.DURATION}s`,
      preAllocatedVUs: VUS,
      maxVUs: VUS,
      tags: { phase: 'measure' },
    },
  },
  thresholds,
};

export default function () {
  const n = targets.length;
  const i = (((Math.floor((Date.now() - epochMs) / sliceMs) % n) + n) % n) | 0;
  http.post(targets[i].url, __ENV.BODY, params[i]);
}

export function handleSummary(data) {
  const m = data.metrics;
  const count = (name) => (m[name] ? m[name].values.count : 0);
  const byTarget = {};
  for (const t of targets) {
    const d = m[`http_req_duration{phase:measure,target:${t.name}}`];
    byTarget[t.name] = {
      p50Ms: d ? d.values.med : null,
      p99Ms: d ? d.values['p(99)'] : null,
      requests: count(`http_reqs{phase:measure,target:${t.name}}`),
      allRequests: count(`http_reqs{target:${t.name}}`),
      failedRate: m[`http_req_failed{phase:measure,target:${t.name}}`]
        ? m[`http_req_failed{phase:measure,target:${t.name}}`].values.rate
        : 0,
    };
  }
  return {
    stdout: `${JSON.stringify({
      sliced: byTarget,
      // Iterations k6 could not start on schedule: in the measured phase, and in all (warm-up included).
      dropped: count('dropped_iterations{scenario:measure}'),
      allDropped: count('dropped_iterations'),
    })}\n`,
  };
}
