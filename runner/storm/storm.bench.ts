/**
 * Full token storm against the real IdP, printing the figures per policy.
 *
 *   npx tsx runner/storm/storm.bench.ts [--services 10000] [--ttl 20] [--policies window,kubelet]
 *                                       [--steady 3] [--settle 2] [--json out.json]
 *
 * Defaults are the full study's (`FULL_STORM` in scenarios/token-storm.ts).
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { FULL_STORM } from '../../scenarios/token-storm.js';
import { runTokenStormDetailed } from './index.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string' },
    ttl: { type: 'string' },
    policies: { type: 'string' },
    steady: { type: 'string' },
    settle: { type: 'string' },
    json: { type: 'string' },
  },
});

function num(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a non-negative number (got '${raw}')`);
    process.exit(2);
  }
  return n;
}

const opts = {
  services: num('services', values.services, FULL_STORM.services),
  ttlSeconds: num('ttl', values.ttl, FULL_STORM.ttlSeconds),
  policies: values.policies ? values.policies.split(',').map((p) => p.trim()) : FULL_STORM.policies,
  steadyLifetimes: num('steady', values.steady, FULL_STORM.steadyLifetimes),
  settleLifetimes: num('settle', values.settle, FULL_STORM.settleLifetimes ?? 0),
};

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
const ac = new AbortController();
process.once('SIGINT', () => ac.abort(new Error('interrupted')));
const started = performance.now();
console.log(
  `token storm: ${opts.services} services, ttl ${opts.ttlSeconds} s, policies ${opts.policies.join(', ')}, ` +
    `settle ${opts.settleLifetimes} + steady ${opts.steadyLifetimes} lifetimes; ${cpus().length} CPUs, load ${load()}`,
);
try {
  const details = await runTokenStormDetailed({ ...opts, signal: ac.signal, log: (l) => console.log(`  ${l}`) });
  console.log('');
  console.log('policy           services  to-all-tokens  issued   failed  idp-counted  peak rps  mean rps  peak/mean');
  for (const d of details) {
    const r = d.record;
    console.log(
      [
        r.policy.padEnd(16),
        String(r.services).padStart(8),
        `${r.timeToAllTokensMs} ms`.padStart(13),
        String(r.issued).padStart(7),
        String(r.failed).padStart(8),
        String(d.idpCountedRequests).padStart(12),
        r.peakIdpRps.toFixed(1).padStart(9),
        r.meanIdpRps.toFixed(1).padStart(9),
        (r.meanIdpRps ? r.peakIdpRps / r.meanIdpRps : 0).toFixed(2).padStart(10),
      ].join(' '),
    );
    if (d.minHolders !== r.services) {
      console.log(`  ! tokens lapsed: as few as ${d.minHolders}/${r.services} services held a valid token (${d.holdersAtEnd} at the end)`);
    }
    console.log(
      `  requests sent: peak ${d.sentPeakRps} rps, mean ${d.sentMeanRps} rps (×${(d.sentMeanRps ? d.sentPeakRps / d.sentMeanRps : 0).toFixed(2)}); ` +
        `harness event-loop stall max ${d.harnessLoopDelayMaxMs} ms`,
    );
  }
  // Other work on the machine shifts every figure: the load average says how much there was.
  console.log(`\nwall time ${Math.round((performance.now() - started) / 1000)} s, load average now ${load()}`);
  if (values.json) {
    await writeFile(
      values.json,
      JSON.stringify(
        details.map((d) => d.record),
        null,
        2,
      ),
    );
    console.log(`records written to ${values.json}`);
  }
} catch (err) {
  console.error(`token storm failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
