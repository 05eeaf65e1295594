/**
 * `npm run bench:observe`: what `--observe` costs the thing it observes (issue 14, "Cost").
 *
 *   npm run bench:observe -- [--trials 12] [--engine autocannon|k6] [--quick] [--duration S] [--seed N] [--base-port P]
 *
 * Starts the local platform (1 pair) and the study's observation exactly as `authlab study --observe`
 * does (live series and page, PostgreSQL statistics, Debian's Prometheus scraping everything every 1 s),
 * then runs the light scenario in enforce through the study's own run path, each trial once with
 * Prometheus scraping and once with it stopped (SIGSTOP; see observe-cost.ts for why), in a balanced
 * order shuffled by the seed. Prints every trial, the paired p50/p99 differences with the study's
 * statistics, Prometheus's CPU beside the runner's, and one verdict line. Everything it started is
 * stopped by pid at the end, also on Ctrl-C.
 */
import { randomInt } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import light from '../../scenarios/light.js';
import { AuthlabError } from '../../system/protocol/errors.js';
import { onShutdownSignal } from '../cli/shutdown.js';
import { buildEngine } from '../engines/index.js';
import { startLocalPlatform, type LocalPlatform } from '../platforms/local/index.js';
import { createLiveSeries, startObservation, type Observation } from './observe.js';
import { findTool } from './prometheus.js';
import { formatSummary, runObserveCost, summarize, waitForScraping } from './observe-cost.js';

function fail(sentence: string): never {
  console.error(`bench:observe: ${sentence}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      trials: { type: 'string' },
      engine: { type: 'string' },
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      'base-port': { type: 'string' },
    },
  }));
} catch (err) {
  fail((err as Error).message);
}
const int = (name: string, raw: string | undefined, min: number): number | undefined => {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer ≥ ${min} (got '${raw}')`);
  return n;
};
const trials = int('trials', values.trials, 2) ?? 12;
const seed = int('seed', values.seed, 0) ?? randomInt(0, 2 ** 31 - 1);
const basePort = int('base-port', values['base-port'], 1024);
const durationS = values.duration === undefined ? undefined : Number(values.duration);
if (durationS !== undefined && !(durationS > 0)) fail(`--duration must be a positive number of seconds (got '${values.duration}')`);
const engineName = values.engine ?? 'autocannon';
if (engineName !== 'autocannon' && engineName !== 'k6') fail(`--engine must be autocannon or k6 (got '${engineName}')`);
if (findTool('prometheus') === null) fail("needs Debian's prometheus on PATH (apt-get install -y prometheus)");
const engine = buildEngine(engineName);
const missing = await engine.unavailable();
if (missing) fail(missing);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
console.log(
  `bench:observe: light in enforce, ${trials} trial(s) × (observed, unobserved), engine ${engine.name}, ` +
    `${values.quick ? 'quick' : 'full'} profile${durationS ? `, ${durationS} s measured` : ''}, seed ${seed}; ` +
    `${availableParallelism()} CPUs, load ${load()}`,
);

const shutdown = onShutdownSignal((sig) => console.error(`bench:observe: ${sig} received; stopping everything…`));
let platform: LocalPlatform | undefined;
let observation: Observation | undefined;
let exitCode = 0;
try {
  platform = await startLocalPlatform({ pairs: 1, signal: shutdown.signal, ...(basePort ? { basePort } : {}) });
  const live = createLiveSeries();
  observation = await startObservation({
    live,
    endpoints: platform.endpoints,
    prometheus: true,
    postgresStats: true,
    ...(basePort ? { livePort: basePort + 10 } : {}),
    signal: shutdown.signal,
  });
  const prometheus = observation.prometheus!;
  // IdP, both sidecars of the pair and the runner's live endpoint.
  await waitForScraping(prometheus.url, 2 + platform.endpoints.services.length, { signal: shutdown.signal });
  console.log(
    `started: platform pids ${platform.pids.join(',')}; prometheus pid ${prometheus.pid} (${prometheus.url}); live ${observation.server.url}`,
  );
  const results = await runObserveCost({
    platform,
    engine,
    scenario: light,
    prometheusPid: prometheus.pid,
    live,
    trials,
    quick: values.quick ?? false,
    ...(durationS === undefined ? {} : { durationS }),
    seed,
    signal: shutdown.signal,
    log: (l) => console.log(l),
  });
  for (const line of formatSummary(summarize(results, seed), trials)) console.log(line);
} catch (err) {
  if (shutdown.received()) {
    console.error('bench:observe: interrupted; everything was stopped');
    exitCode = 130;
  } else if (err instanceof AuthlabError) {
    // A catalogued error (busy port, Prometheus failed) says what to do in one sentence.
    console.error(`bench:observe: ${err.code}: ${err.message}`);
    exitCode = 1;
  } else {
    console.error(`bench:observe: ${(err as Error).stack ?? String(err)}`);
    exitCode = 1;
  }
} finally {
  await observation?.close();
  await platform?.close();
  shutdown.dispose();
}
console.log(`stopped: load ${load()}`);
process.exit(exitCode);
