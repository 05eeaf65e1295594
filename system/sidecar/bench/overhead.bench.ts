/**
 * `npm run bench:overhead` — what auth costs per request across one hop, both ends: a closed loop of
 * `--connections` connections (raw sockets, in this process: sliced-load.ts) calls `/call/<b>/query`
 * (light) on a caller's sidecar, through two real sidecars (child processes of bench/stack.ts, with the
 * real IdP and PostgreSQL), auth off (sign off, verify off: pair 2, p2-a → p2-b, per-service overrides)
 * against auth on (sign on, verify enforce: pair 1, p1-a → p1-b, the global modes). The two pairs are
 * loaded in turn, one at a time, in slices of `--slice` ms; a round is eight slices in the order
 * off, on, on, off, on, off, off, on (each mode follows each equally often, and starts a round as often),
 * so both pairs see the same seconds of the host. Per round and mode: p50 (HDR, µs) and the CPU µs per
 * request of the pair's two sidecar processes together (schedstat, the client excluded; what they use
 * between their slices counts in the round of the slice it precedes, and is printed apart). Prints
 * enforce − off per round as the median with its order-statistic interval (results/stats/target.ts):
 * the same question as the study's auth-overhead rows, on one pair, in a minute. The two pairs swap modes
 * between rounds (a crossover, as bench:sidecar's: per-service overrides, both assignments primed), and
 * enforce − off is read per pair of rounds, the mean of the two rounds' differences, so that what one
 * pair of processes costs more than the other cancels; each way is printed apart. `--mode` and
 * `--cpu-prof` keep p2 off and p1 on (one mode per process). A round with any non-2xx
 * answer stops the bench (sliced-load.ts's stopOnFailedRound). Not a test: it prints figures.
 *
 * Flags: --rounds 24 (even) --slice 250 (ms) --prime 3 (s per mode of slices before the rounds, not counted: the
 * children's JIT is cold, and a first run read 2× the later ones) --connections 4
 * --mode off|enforce (that mode only) --cpu-prof <dir> (V8 CPU profiles of all four sidecars, written when they stop)
 */
import { build, type Histogram } from 'hdr-histogram-js';
import { checkTarget, describeInterval } from '../../../results/stats/index.js';
import { benchFlags } from '../../runtime/bench-flags.js';
import { openSlicedLoad, stopOnFailedRound, type SliceTarget } from './sliced-load.js';
import { loadAverage, startBenchStack } from './stack.js';

const flags = benchFlags('bench:overhead', {
  numbers: {
    rounds: { default: 24, integer: true },
    slice: 250,
    prime: 3,
    connections: { default: 4, integer: true },
  },
  strings: ['mode', 'cpu-prof'],
});
const { rounds, slice: sliceMs, prime, connections } = flags.numbers;
const BOTH = ['off', 'enforce'] as const;
type Mode = (typeof BOTH)[number];
const only = flags.strings.mode;
if (only !== undefined && !BOTH.includes(only as Mode)) {
  console.error(`bench:overhead: --mode is off or enforce (one mode only, e.g. to profile it), not ${JSON.stringify(only)}`);
  process.exit(2);
}
const MODES: readonly Mode[] = only === undefined ? BOTH : [only as Mode];
/** Both modes, no profile: the two pairs swap modes between rounds (a crossover; a profile keeps one mode per process). */
const crossover = only === undefined && flags.strings['cpu-prof'] === undefined;
if (crossover && rounds % 2 !== 0) {
  console.error(`bench:overhead: --rounds must be even (got ${rounds}): consecutive rounds swap which pair runs auth off`);
  process.exit(2);
}
/** One round: ABBA BAAB — each mode follows each mode equally often, also across rounds. */
const ROUND: readonly Mode[] =
  only === undefined ? ['off', 'enforce', 'enforce', 'off', 'enforce', 'off', 'off', 'enforce'] : Array(8).fill(only);
const BODY = '{"query":"light","params":{"id":42}}';

const histogram = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

async function main(): Promise<void> {
  const stack = await startBenchStack();
  process.once('SIGINT', () => void stack.close().then(() => process.exit(130)));
  let load: { close(): void } | undefined;
  try {
    const prof = flags.strings['cpu-prof'];
    const pairs: Record<Mode, { caller: string; target: string }> = {
      off: { caller: 'p2-a', target: 'p2-b' },
      enforce: { caller: 'p1-a', target: 'p1-b' },
    };
    const targets: SliceTarget[] = [];
    for (const mode of MODES) {
      const { caller, target } = pairs[mode];
      const b = await stack.sidecar(target, {}, prof);
      const a = await stack.sidecar(caller, { [target]: b.url }, prof);
      const pids = [a.component.pid, b.component.pid].filter((p) => p !== undefined);
      if (pids.length < 2) throw new Error(`a sidecar of ${caller} → ${target} has no pid: its CPU cannot be read`);
      targets.push({ url: `${a.url}/call/${target}/query`, body: BODY, pids });
    }
    // Auth off is sign off + verify off; on is sign on + verify enforce. Swapped (crossover, odd rounds):
    // p1 runs auth off and p2 auth on. Target i is the pair that runs MODES[i] unswapped.
    let swappedNow: boolean | undefined;
    const assign = async (swapped: boolean) => {
      if (swapped === swappedNow) return;
      const off = { signMode: 'off', verifyMode: 'off' } as const;
      const on = { signMode: 'on', verifyMode: 'enforce' } as const;
      const [p1, p2] = swapped ? [off, on] : [on, off];
      await stack.setModes('on', 'enforce', { 'p1-a': p1, 'p1-b': p1, 'p2-a': p2, 'p2-b': p2 });
      swappedNow = swapped;
    };
    const pairName = (mode: Mode, swapped: boolean) => {
      const p = pairs[swapped ? (mode === 'off' ? 'enforce' : 'off') : mode];
      return `${p.caller} → ${p.target}`;
    };
    const sliced = await openSlicedLoad(targets, connections);
    load = sliced;
    let errors = 0;
    /** Requests answered 200 since the sidecars started (primes too): what a --cpu-prof profile covers. */
    const answered: Record<Mode, number> = { off: 0, enforce: 0 };
    const run = async (mode: Mode, h: Histogram | null, swapped = false) => {
      const r = await sliced.slice(
        swapped ? 1 - MODES.indexOf(mode) : MODES.indexOf(mode),
        sliceMs,
        h ? (us) => h.recordValue(Math.max(1, Math.round(us))) : undefined,
      );
      errors += r.errors;
      answered[mode] += r.responses;
      return r;
    };

    const merged: Record<Mode, Histogram> = { off: histogram(), enforce: histogram() };
    const p50 = { off: [] as number[], enforce: [] as number[] };
    const cpuUs = { off: [] as number[], enforce: [] as number[] };
    const betweenTotal: Record<Mode, { cpu: number; n: number }> = { off: { cpu: 0, n: 0 }, enforce: { cpu: 0, n: 0 } };
    console.log(`load average at start ${await loadAverage()}`);
    console.log(
      `bench:overhead — node ${process.version}, ${connections} connections, ${rounds} rounds of 8 slices of ${sliceMs} ms ` +
        `(${MODES.join(' and ')} in turn), after ${prime} s of slices per mode not counted`,
    );
    // Both assignments primed (crossover), ending with round 1's.
    for (const swapped of crossover ? [true, false] : [false]) {
      await assign(swapped);
      for (let i = 0; i < Math.ceil((prime * 1000) / sliceMs); i++) for (const mode of MODES) await run(mode, null, swapped);
    }
    /** Per round: whether the pairs ran swapped. */
    const swappedIn: boolean[] = [];
    for (let round = 0; round < rounds; round++) {
      const swapped = crossover && round % 2 === 1;
      await assign(swapped);
      swappedIn.push(swapped);
      const h: Record<Mode, Histogram> = { off: histogram(), enforce: histogram() };
      // A pair's CPU over its slices and between them (its GC finishing, its timers, while the other
      // pair was loaded): the latter counts in the round of the slice it precedes.
      const sum: Record<Mode, { n: number; cpu: number | null; between: number }> = {
        off: { n: 0, cpu: 0, between: 0 },
        enforce: { n: 0, cpu: 0, between: 0 },
      };
      const roundErrors: Record<Mode, number> = { off: 0, enforce: 0 };
      for (const mode of ROUND) {
        const r = await run(mode, h[mode], swapped);
        roundErrors[mode] += r.errors;
        sum[mode].n += r.responses;
        sum[mode].cpu = sum[mode].cpu === null || r.cpuSeconds === undefined ? null : sum[mode].cpu + r.cpuSeconds;
        if (r.betweenCpuSeconds !== undefined) sum[mode].between += r.betweenCpuSeconds;
      }
      const line: string[] = [];
      for (const mode of MODES) {
        const { n, cpu, between } = sum[mode];
        const perRequest = cpu !== null && n > 0 ? ((cpu + between) * 1e6) / n : null;
        betweenTotal[mode].cpu += between;
        betweenTotal[mode].n += n;
        p50[mode].push(h[mode].getValueAtPercentile(50));
        if (perRequest !== null) cpuUs[mode].push(perRequest);
        merged[mode].add(h[mode]);
        line.push(
          `${mode} ${n} requests, p50 ${h[mode].getValueAtPercentile(50)} µs, p99 ${h[mode].getValueAtPercentile(99)} µs, ` +
            `sidecars' CPU ${perRequest === null ? 'n/a' : perRequest.toFixed(0)} µs/request`,
        );
      }
      const who = crossover ? ` [off: ${pairName('off', swapped)}]` : '';
      console.log(`round ${String(round + 1).padStart(2)}${who}: ${line.join('; ')}; load ${await loadAverage()}`);
      await stopOnFailedRound(
        round + 1,
        MODES,
        MODES.map((_, i) => sliced.target(swapped ? 1 - i : i)),
        MODES.map((m) => roundErrors[m]),
      );
    }

    console.log('');
    for (const m of MODES) {
      const h = merged[m];
      console.log(
        `${m.padEnd(8)} all rounds: n=${h.totalCount}  p50 ${h.getValueAtPercentile(50)} µs  p90 ${h.getValueAtPercentile(90)} µs  p99 ${h.getValueAtPercentile(99)} µs`,
      );
    }
    const roundDiffs = (xs: Record<Mode, number[]>) => xs.enforce.map((v, i) => v - xs.off[i]!);
    // Crossover: one figure per pair of rounds (one each way), the mean of their differences, in which what
    // one pair of processes costs more than the other cancels.
    const diff = (xs: Record<Mode, number[]>) => {
      const d = roundDiffs(xs);
      return crossover ? Array.from({ length: d.length >> 1 }, (_, k) => (d[2 * k]! + d[2 * k + 1]!) / 2) : d;
    };
    const per = crossover ? 'per pair of rounds' : 'per round';
    const inPairs = (text: string) => (crossover ? text.replace(/ rounds\)/, ' pairs of rounds)') : text);
    const us = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(0)}`;
    // checkTarget's interval only: the issue sets no target for the pair's auth cost.
    if (MODES.length < 2) {
      console.log(`one mode only (--mode ${only}): no difference to print`);
    } else {
      const cpuRead = cpuUs.off.length === rounds && cpuUs.enforce.length === rounds;
      console.log(`auth cost (enforce − off) at p50, ${per}: ${inPairs(describeInterval(checkTarget(diff(p50), 0, 'at-most'), us))} µs`);
      if (crossover) {
        // Each way apart: how far one pair of sidecar processes differs from the other, same code and load.
        for (const swapped of [false, true]) {
          const way = (xs: Record<Mode, number[]>) => roundDiffs(xs).filter((_, i) => swappedIn[i] === swapped);
          const cpu = cpuRead ? `, CPU ${describeInterval(checkTarget(way(cpuUs), 0, 'at-most'), us)} µs/request` : '';
          console.log(
            `  auth on ${pairName('enforce', swapped)}, off ${pairName('off', swapped)}: p50 ` +
              `${describeInterval(checkTarget(way(p50), 0, 'at-most'), us)} µs${cpu}`,
          );
        }
      }
      if (cpuRead) {
        console.log(
          `auth CPU (enforce − off), both sidecars, ${per}: ${inPairs(describeInterval(checkTarget(diff(cpuUs), 0, 'at-most'), us))} µs/request`,
        );
        const betweenUs = (m: Mode) => `${m} ${((betweenTotal[m].cpu / betweenTotal[m].n) * 1e6).toFixed(2)}`;
        console.log(`of which between a pair's slices (its GC finishing, its timers), µs/request: ${MODES.map(betweenUs).join(', ')}`);
      } else {
        console.log('auth CPU: the sidecars’ CPU could not be read (/proc/<pid>/task/*/schedstat)');
      }
    }
    console.log(`errors (non-2xx): ${errors}; load average at end ${await loadAverage()}`);
    if (prof) {
      console.log(
        `profiles cover ${MODES.map((m) => `${pairs[m].caller} → ${pairs[m].target} (${m}) ${answered[m]} requests answered 2xx`).join(', ')}, primes included`,
      );
    }
    if (errors > 0) process.exitCode = 1;
  } finally {
    load?.close();
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:overhead failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
