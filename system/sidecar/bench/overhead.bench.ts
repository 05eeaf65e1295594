/**
 * `npm run bench:overhead` — what auth costs per request across one hop, both ends: a closed loop of
 * `--connections` workers (undici, in this process) calls p1-a `/call/p1-b/query` (light), through
 * two real sidecars (child processes of bench/stack.ts, with the real IdP and PostgreSQL), auth off
 * (sign off, verify off) against auth on (sign on, verify enforce). Modes alternate within a round and
 * their order flips every round (off-on, on-off, ...), each run after its own warm-up. Per round and
 * mode: p50 (HDR, µs) and the CPU µs per request of the two sidecar processes together (schedstat,
 * the client excluded). Prints enforce − off per round as the median with its order-statistic
 * interval (results/stats/target.ts): the same question as the study's auth-overhead rows, on one
 * pair, in a minute. Not a test: it prints figures.
 *
 * Flags: --rounds 6 --duration 3 (s per mode and round) --warmup 0.5 (s, before each run) --prime 3 (s per mode,
 * once before the rounds: the children's JIT is cold, and a first run read 2× the later ones) --connections 4
 * --mode off|enforce (that mode only) --cpu-prof <dir> (V8 CPU profiles of both sidecars, written when they stop)
 */
import { build, type Histogram } from 'hdr-histogram-js';
import { Pool } from 'undici';
import { checkTarget, describeInterval } from '../../../results/stats/index.js';
import { benchFlags } from '../../runtime/bench-flags.js';
import { cpuSecondsOfAll, loadAverage, startBenchStack } from './stack.js';

const flags = benchFlags('bench:overhead', {
  numbers: {
    rounds: { default: 6, integer: true },
    duration: 3,
    warmup: 0.5,
    prime: 3,
    connections: { default: 4, integer: true },
  },
  strings: ['mode', 'cpu-prof'],
});
const { rounds, duration, warmup, prime, connections } = flags.numbers;
const BOTH = ['off', 'enforce'] as const;
type Mode = (typeof BOTH)[number];
const only = flags.strings.mode;
if (only !== undefined && !BOTH.includes(only as Mode)) {
  console.error(`bench:overhead: --mode is off or enforce (one mode only, e.g. to profile it), not ${JSON.stringify(only)}`);
  process.exit(2);
}
const MODES: readonly Mode[] = only === undefined ? BOTH : [only as Mode];
const BODY = '{"query":"light","params":{"id":42}}';

const histogram = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

async function main(): Promise<void> {
  const stack = await startBenchStack();
  process.once('SIGINT', () => void stack.close().then(() => process.exit(130)));
  try {
    const prof = flags.strings['cpu-prof'];
    const b = await stack.sidecar('p1-b', {}, prof);
    const a = await stack.sidecar('p1-a', { 'p1-b': b.url }, prof);
    const pids = [a.component.pid, b.component.pid];
    const client = new Pool(a.url, { connections });
    let errors = 0;
    /** Requests answered 200 since the sidecars started (primes and warm-ups too): what a --cpu-prof profile covers. */
    let answered = 0;

    /** Runs the closed loop for `seconds`; records each 200's latency (µs) into `h` when given. Returns requests answered 200. */
    const loop = async (seconds: number, h: Histogram | null): Promise<number> => {
      const end = performance.now() + seconds * 1000;
      let ok = 0;
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (performance.now() < end) {
            const t0 = performance.now();
            const res = await client.request({
              path: '/call/p1-b/query',
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: BODY,
            });
            await res.body.text();
            if (res.statusCode !== 200) {
              errors++;
              continue;
            }
            ok++;
            answered++;
            h?.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          }
        }),
      );
      return ok;
    };

    const merged: Record<Mode, Histogram> = { off: histogram(), enforce: histogram() };
    const p50 = { off: [] as number[], enforce: [] as number[] };
    const cpuUs = { off: [] as number[], enforce: [] as number[] };
    console.log(`load average at start ${await loadAverage()}`);
    console.log(
      `bench:overhead — node ${process.version}, ${connections} connections, ${rounds} rounds × ${duration} s per mode (+${warmup} s warm-up)`,
    );
    /** Auth off is sign off + verify off; on is sign on + verify enforce. */
    const apply = (mode: Mode) => stack.setModes(mode === 'off' ? 'off' : 'on', mode);
    for (const mode of MODES) {
      await apply(mode);
      await loop(prime, null);
    }
    for (let round = 0; round < rounds; round++) {
      const order: readonly Mode[] = round % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        await apply(mode);
        await loop(warmup, null);
        const h = histogram();
        const cpu0 = await cpuSecondsOfAll(pids);
        const n = await loop(duration, h);
        const cpu1 = await cpuSecondsOfAll(pids);
        const cpu = cpu0 !== null && cpu1 !== null && n > 0 ? ((cpu1 - cpu0) * 1e6) / n : null;
        p50[mode].push(h.getValueAtPercentile(50));
        if (cpu !== null) cpuUs[mode].push(cpu);
        merged[mode].add(h);
        console.log(
          `round ${round + 1} ${mode.padEnd(8)} ${n} requests, p50 ${h.getValueAtPercentile(50)} µs, p99 ${h.getValueAtPercentile(99)} µs, ` +
            `sidecars' CPU ${cpu === null ? 'n/a' : cpu.toFixed(0)} µs/request; load ${await loadAverage()}`,
        );
      }
    }
    await client.close();

    console.log('');
    for (const m of MODES) {
      const h = merged[m];
      console.log(
        `${m.padEnd(8)} all rounds: n=${h.totalCount}  p50 ${h.getValueAtPercentile(50)} µs  p90 ${h.getValueAtPercentile(90)} µs  p99 ${h.getValueAtPercentile(99)} µs`,
      );
    }
    const diff = (xs: Record<Mode, number[]>) => xs.enforce.map((v, i) => v - xs.off[i]!);
    const us = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(0)}`;
    // checkTarget's interval only: the issue sets no target for the pair's auth cost.
    if (MODES.length < 2) {
      console.log(`one mode only (--mode ${only}): no difference to print`);
    } else {
      console.log(`auth cost (enforce − off) at p50, per round:       ${describeInterval(checkTarget(diff(p50), 0, 'at-most'), us)} µs`);
      if (cpuUs.off.length === rounds && cpuUs.enforce.length === rounds) {
        console.log(
          `auth CPU (enforce − off), both sidecars, per round: ${describeInterval(checkTarget(diff(cpuUs), 0, 'at-most'), us)} µs/request`,
        );
      } else {
        console.log('auth CPU: the sidecars’ CPU could not be read (/proc/<pid>/task/*/schedstat)');
      }
    }
    console.log(`errors (non-200): ${errors}; load average at end ${await loadAverage()}`);
    if (flags.strings['cpu-prof']) console.log(`profiles cover ${answered} requests answered 200 (primes and warm-ups included)`);
    if (errors > 0) process.exitCode = 1;
  } finally {
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:overhead failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
