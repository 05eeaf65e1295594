// k6 driver of the sidecar benches: POST BODY to TARGET at RATE requests/s (constant-arrival-rate,
// open loop) for DURATION seconds after a WARMUP; prints one JSON summary line to stdout.
import http from 'k6/http';

const rate = Number(__ENV.RATE);
const headers = { 'content-type': 'application/json' };
if (__ENV.AUTHORIZATION) headers.authorization = __ENV.AUTHORIZATION;
const params = { headers };

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ['med', 'p(99)'],
  scenarios: {
    warmup: {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit: '1s',
      duration: `${__ENV.WARMUP}s`,
      preAllocatedVUs: 20,
      maxVUs: 200,
      tags: { phase: 'warmup' },
    },
    measure: {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit: '1s',
      startTime: `${__ENV.WARMUP}s`,
      duration: `${__ENV.DURATION}s`,
      preAllocatedVUs: 20,
      maxVUs: 200,
      tags: { phase: 'measure' },
    },
  },
  thresholds: {
    // Declared so the summary carries the measured phase's own figures.
    'http_req_duration{phase:measure}': ['max>=0'],
    'http_reqs{phase:measure}': ['count>=0'],
    'http_req_failed{phase:measure}': ['rate>=0'],
  },
};

export default function () {
  http.post(__ENV.TARGET, __ENV.BODY, params);
}

export function handleSummary(data) {
  const m = data.metrics;
  const d = m['http_req_duration{phase:measure}'].values;
  return {
    stdout: `${JSON.stringify({
      p50Ms: d.med,
      p99Ms: d['p(99)'],
      requests: m['http_reqs{phase:measure}'].values.count,
      allRequests: m.http_reqs.values.count,
      failedRate: m['http_req_failed{phase:measure}'].values.rate,
      dropped: m.dropped_iterations ? m.dropped_iterations.values.count : 0,
    })}\n`,
  };
}
