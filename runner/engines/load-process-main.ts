/**
 * The load process (runner/engines/load-process.ts): runs autocannon for the orchestrator and sends
 * back each run's result and, for live runs, its responses in batches. Exits when the orchestrator
 * goes away.
 */
import { runAutocannon } from './autocannon.js';
import type { FromLoad, ToLoad } from './load-process.js';
import { toWire } from './result-wire.js';

/** How often a live run's responses are sent to the orchestrator, ms (the live series' resolution is 1 s). */
const FLUSH_MS = 100;

const controllers = new Map<number, AbortController>();
const send = (m: FromLoad): void => {
  if (process.connected) process.send?.(m);
};

process.on('disconnect', () => process.exit(0));
// A normal exit on SIGTERM (how LoadProcess.close stops it), so exit hooks run (e.g. `--cpu-prof` via NODE_OPTIONS writes its profile).
process.on('SIGTERM', () => process.exit(0));
process.on('message', (m: ToLoad) => {
  if (m.kind === 'stop') {
    controllers.get(m.id)?.abort(new Error('run aborted'));
    return;
  }
  const controller = new AbortController();
  controllers.set(m.id, controller);
  const batches = m.runs.map(() => [] as (number | string)[]);
  const flush = (): void =>
    batches.forEach((samples, index) => {
      if (samples.length === 0) return;
      send({ kind: 'responses', id: m.id, index, samples: samples.splice(0) });
    });
  const timer = m.runs.some((r) => r.live) ? setInterval(flush, FLUSH_MS) : undefined;
  Promise.all(
    m.runs.map(({ live, ...run }, index) =>
      runAutocannon({
        ...run,
        signal: controller.signal,
        ...(live ? { onResponse: (us: number, status: number | string) => void batches[index]?.push(us, status) } : {}),
      }),
    ),
  )
    .then((results) => {
      flush();
      send({ kind: 'done', id: m.id, results: results.map(toWire) });
    })
    .catch((error: unknown) => {
      send({
        kind: 'failed',
        id: m.id,
        aborted: controller.signal.aborted,
        message: error instanceof Error ? error.message : String(error),
      });
    })
    .finally(() => {
      clearInterval(timer);
      controllers.delete(m.id);
    });
});
