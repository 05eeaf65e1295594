/**
 * `npm run bench:sidecar` — one sidecar at saturation on `/query` light, verify off and enforce, beside a
 * minimal node:http + pg server on the same query and the same rows (minimal-server.ts), all three
 * loaded in turn: slices of `--slice` ms, one server at a time with its own 32 keep-alive connections
 * in a closed loop (sliced-load.ts), so the three see the same seconds of the host and never share a
 * core at the same moment. A round is one pass through the six orders of the three (ORDERS: each slice
 * follows each other contender's equally often), 18 slices; a round's figures are each contender's
 * answers over its slices' time (req/s) and its CPU over them (µs per request). Targets (issue 13):
 * sidecar off ≥ 0.9× the minimal server; enforce ≥ 0.95× off, each the median over rounds of the round's
 * own ratio with its order-statistic interval (results/stats/target.ts): PASS or MISS only when the
 * whole interval is on one side, UNRESOLVED when the host's noise spans it. Also prints the paired CPU
 * ratios off/minimal and enforce/off. A round with any non-2xx answer stops the bench (a refusing server
 * would otherwise read as a slow one), and enforce's bearer token is renewed between rounds before it
 * expires (the IdP's default token lives 300 s; `--rounds 96` runs ~8 min).
 *
 * verify off and enforce are two sidecar processes (p1-a and p1-b, per-service overrides), so neither
 * waits for a settings change between slices — and which of the two is verify off alternates between
 * rounds (a crossover): two 96-round runs with fixed roles one morning read enforce / off
 * 0.91 [0.89, 0.93] and 0.99 [0.97, 1.02], each interval far narrower than the gap between them, so a
 * process's own speed (its JIT's choices, its memory layout) weighed as much as auth did. The enforce /
 * off figures are then taken per pair of rounds, one with each sidecar off, as the geometric mean of the
 * two rounds' ratios, and each process's own enforce / off is printed apart. `--cpu-prof` keeps p1-a
 * off and p1-b enforcing, so that each profile is one mode.
 *
 * Forks (`--forks`, as JMH calls them): the crossover cancels a process's own speed out of enforce / off,
 * but not out of off / minimal (two programs), so one run's interval there holds only the rounds of one
 * draw of each process (96 rounds read off / minimal 0.90 [0.88, 0.91] one morning, 0.97 [0.95, 0.99] and
 * 0.94 [0.92, 0.96] the day before). With `--forks K` the rounds are split over K sets of fresh processes
 * (the two sidecars restarted, the minimal server started again, each warmed), each fork's figure is the
 * median of its own rounds, and the verdicts are read over the K fork figures — the process is then the
 * unit of replication, and the interval holds what a new process changes. The first 6-fork run
 * (`--rounds 96 --forks 6`, 2026-12-03 13:40–13:50) had fork medians of off / minimal from 0.92 to 0.99,
 * a spread about twice as wide as the 96-round one-fork intervals before it (0.03–0.04). Default 12 forks
 * of 4 rounds: six forks' interval is their [min, max], as wide as the fork spread (0.90–1.00 for enforce / off
 * on 2026-12-04 19:17, UNRESOLVED), while twelve give an order-statistic interval inside it (0.96–1.01 at
 * 19:03 the same evening, PASS), at about seven minutes a run. But off / minimal, whose fork medians
 * spread from 0.85 to 1.04, read PASS in two 12-fork runs that evening and UNRESOLVED in two ([0.88, 0.96],
 * [0.89, 0.98]). Default 24 forks of 4 rounds (about fourteen minutes): the 7th to the 18th fork figure,
 * off / minimal 0.93 [0.91, 0.94] and enforce / off 0.969 [0.954, 0.982] on 2026-12-04 22:23, both PASS.
 * `--forks 1` is the old single-draw design and says so.
 *
 * Pinned by default (`--shared` turns it off): the servers under test run on the last CPU and everything
 * else (the load in this process, PostgreSQL, the IdP) on the others, pinned once before the rounds
 * (PostgreSQL's backends, forked as connections open, inherit the postmaster's mask): saturation is then
 * the server's own core, and each round prints how busy the loaded server kept it.
 *
 * Flags: --rounds 96 (in all, even per fork) --forks 24 --slice 250 (ms) --connections 32 --shared
 *        --cpu-prof <dir> (V8 CPU profiles of the two sidecars and the minimal server; runs one fork, refuses
 *        --forks above 1).
 */
import { fileURLToPath } from 'node:url';
import { median } from 'simple-statistics';
import { checkTarget, describeInterval, describeTarget } from '../../../results/stats/index.js';
import { spawnListening } from '../../../runner/platforms/local/child.js';
import { benchFlags } from '../../runtime/bench-flags.js';
import { openSlicedLoad, stopOnFailedRound, type SlicedLoad, type SliceResult } from './sliced-load.js';
import { cpuProfArgs, loadAverage, pinPids, serverPinPlan, startBenchStack } from './stack.js';
import { formatCpuList } from '../../../runner/study/pinning.js';

// 96 rounds of 18 slices of 250 ms over 24 forks: about fourteen minutes (eight of rounds, the rest
// starting and warming each fork's processes). Twenty-four fork figures: the 7th to the 18th smallest
// cover their median at 98 %.
const flags = benchFlags('bench:sidecar', {
  numbers: {
    rounds: { default: 96, integer: true },
    forks: { default: 24, integer: true },
    slice: 250,
    connections: { default: 32, integer: true },
  },
  strings: ['cpu-prof'],
  booleans: ['shared'],
});
const pinning = flags.booleans.shared ? { reason: 'not pinned (--shared)' } : serverPinPlan();
const pinPlan = 'reason' in pinning ? null : pinning;
const rounds = flags.numbers.rounds;
const profDir = flags.strings['cpu-prof'];
// A profile is one process per mode: --cpu-prof alone runs one fork.
const forks = profDir !== undefined && !flags.given.has('forks') ? 1 : flags.numbers.forks;
/** Which sidecar process is verify off alternates between rounds; a profile (--cpu-prof) keeps one mode per process. */
const crossover = profDir === undefined;
const usage = (message: string): never => {
  console.error(`bench:sidecar: ${message}`);
  process.exit(2);
};
if (profDir !== undefined && forks !== 1) usage('--cpu-prof profiles one process per mode: run it with --forks 1');
if (rounds % (crossover ? 2 * forks : forks) !== 0) {
  usage(
    crossover
      ? `--rounds must be an even number per fork (got ${rounds} over ${forks} fork(s)): consecutive rounds swap which sidecar is verify off`
      : `--rounds must be a multiple of --forks (got ${rounds} over ${forks})`,
  );
}
const roundsPerFork = rounds / forks;
const sliceMs = flags.numbers.slice;
const connections = flags.numbers.connections;
const BODY = '{"query":"light","params":{"id":42}}';
/** Slices per contender loaded before the first round and not counted (JIT, pools, connections warm). */
const WARMUP_SLICES = 8;

/** A pinned server whose core is busier than this was the bottleneck of its slices. */
const SATURATED = 0.9;

const range = (xs: number[], digits = 0) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

type Name = 'minimal' | 'off' | 'enforce';
const NAMES: readonly Name[] = ['minimal', 'off', 'enforce'];

/**
 * The contenders' order in the t-th triple of a round is ORDERS[t]: every order once per round, so each
 * slice follows each other contender's equally often — within a triple and across its boundary (a
 * Williams design). Before slicing, whole runs in a rotation (ABC, BCA, CAB) measured `off` right after
 * the idle-sidecar `minimal` run in two rounds of three: one run read enforce/off at 1.10 [1.00, 1.34]
 * req/s — auth cheaper than none.
 */
const ORDERS: readonly (readonly Name[])[] = [
  ['minimal', 'off', 'enforce'],
  ['off', 'enforce', 'minimal'],
  ['enforce', 'minimal', 'off'],
  ['minimal', 'enforce', 'off'],
  ['enforce', 'off', 'minimal'],
  ['off', 'minimal', 'enforce'],
];

async function main(): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  process.once('SIGINT', () => void Promise.all(cleanups.reverse().map((c) => c().catch(() => {}))).then(() => process.exit(130)));
  try {
    console.log(`bench:sidecar — node ${process.version}; load average at start ${await loadAverage()}`);
    console.log(
      'reason' in pinning
        ? `${pinning.reason}: the servers under test, PostgreSQL and the load generator share the CPUs`
        : `pinned: the servers under test on CPU ${formatCpuList(pinning.server)}; load generator, PostgreSQL and IdP on CPU ${formatCpuList(pinning.rest)}`,
    );
    const stack = await startBenchStack();
    cleanups.push(() => stack.close());
    // Two sidecar processes; which one is verify off alternates between rounds (below).
    const sidecars = [await stack.sidecar('p1-a', {}, profDir), await stack.sidecar('p1-b', {}, profDir)] as const;
    const minimalEntry = fileURLToPath(new URL('./minimal-server.ts', import.meta.url));
    let minimal: Awaited<ReturnType<typeof spawnListening>> | undefined;
    cleanups.push(async () => minimal?.stop());
    let load: SlicedLoad | undefined;
    cleanups.push(async () => load?.close());
    /** Pids of the minimal server, p1-a and p1-b in the current fork. */
    let serverPids: [number, number, number] = [0, 0, 0];
    /**
     * Starts fork `fork`'s processes (fork 0 keeps the sidecars just started; later ones restart both and
     * start a new minimal server), pins them and opens a load on them. One load target per process: the
     * minimal server, p1-a, p1-b.
     */
    const startFork = async (fork: number) => {
      if (fork > 0) {
        load!.close();
        await minimal!.stop();
        for (const s of sidecars) await s.restart();
      }
      minimal = await spawnListening(minimalEntry, { DATABASE_URL: sidecars[1].databaseUrl }, cpuProfArgs(profDir));
      // The load's targets in this order: 0 the minimal server, 1 p1-a, 2 p1-b (indexOf below).
      const servers = [
        { url: minimal.url, pid: minimal.pid },
        { url: sidecars[0].url, pid: sidecars[0].component.pid },
        { url: sidecars[1].url, pid: sidecars[1].component.pid },
      ];
      const pids = servers.map((s) => s.pid);
      if (pids.some((p) => p === undefined)) throw new Error('a server under test has no pid: its CPU cannot be read');
      serverPids = pids as [number, number, number];
      if (pinPlan !== null) {
        // What forks later (PostgreSQL's backends as connections open) inherits its parent's mask.
        pinPids([process.pid, ...(await stack.supportPids())], pinPlan.rest);
        pinPids(serverPids, pinPlan.server);
      }
      load = await openSlicedLoad(
        servers.map((s) => ({ url: `${s.url}/query`, body: BODY, pids: [s.pid!] })),
        connections,
      );
    };
    // The enforcing sidecar's target carries a bearer token of its peer (whose grant names it: p1-a → p1-b
    // read/write, p1-b → p1-a read), the off sidecar's none — what auth off costs a user. Tokens by the
    // sidecar they are sent to, renewed before they expire (the IdP's default token lives 300 s; --rounds
    // 96 runs ~8 min): a round and a minute's margin must remain when a round starts.
    const tokens: ({ token: string; expiresAtMs: number } | undefined)[] = [undefined, undefined];
    let roundMs = ORDERS.length * NAMES.length * sliceMs * 2;
    let offNow: 0 | 1 | undefined;
    /** Makes sidecar `off` (0: p1-a, 1: p1-b) verify off and the other enforce, and points the load at them. */
    const assign = async (off: 0 | 1) => {
      const on = (1 - off) as 0 | 1;
      if (off !== offNow) {
        await stack.setModes('on', 'enforce', {
          [sidecars[off].service]: { signMode: 'off', verifyMode: 'off' },
          [sidecars[on].service]: { signMode: 'on', verifyMode: 'enforce' },
        });
        offNow = off;
      }
      const held = tokens[on];
      if (held === undefined || Date.now() + roundMs + 60_000 > held.expiresAtMs) {
        tokens[on] = await stack.accessToken(sidecars[off].service);
      }
      load!.setHeaders(1 + on, { authorization: `Bearer ${tokens[on]!.token}` });
      load!.setHeaders(1 + off, {});
    };
    /** The load target of a contender while sidecar `off` is verify off. */
    const indexOf = (name: Name, off: 0 | 1) => (name === 'minimal' ? 0 : name === 'off' ? 1 + off : 2 - off);
    // Every answer, warm-up included, by process: what a profile (--cpu-prof) covers, for scripts/profile-diff.ts.
    const served: [number, number, number] = [0, 0, 0];
    const slice = async (name: Name, off: 0 | 1) => {
      const i = indexOf(name, off);
      const r = await load!.slice(i, sliceMs);
      served[i as 0 | 1 | 2] += r.responses + r.errors;
      return r;
    };

    // Per round and contender: answers, req/s, CPU µs per answer, how busy its slices kept it, and the CPU
    // it used between its own slices (its GC finishing, its timers) — that counts in its CPU per request
    // (the round of the slice it precedes), not in how busy it kept its slices, and is printed apart too.
    type PerRound = { responses: number[]; rps: number[]; cpuUs: number[]; busy: number[]; between: number[] };
    const emptyRounds = (): PerRound => ({ responses: [], rps: [], cpuUs: [], busy: [], between: [] });
    const runs: Record<Name, PerRound> = { minimal: emptyRounds(), off: emptyRounds(), enforce: emptyRounds() };
    /** Per round: which sidecar was verify off. */
    const offIn: (0 | 1)[] = [];
    let errors = 0;
    let cpuRead = true;
    for (let fork = 0; fork < forks; fork++) {
      await startFork(fork);
      if (forks > 1) {
        console.log(`fork ${fork + 1} of ${forks}: minimal pid ${serverPids[0]}, p1-a pid ${serverPids[1]}, p1-b pid ${serverPids[2]}`);
      }
      // Both assignments warmed (crossover), ending with the fork's first round's.
      for (const off of crossover ? ([1, 0] as const) : ([0] as const)) {
        await assign(off);
        for (let i = 0; i < WARMUP_SLICES; i++) for (const name of NAMES) await slice(name, off);
      }
      for (let inFork = 0; inFork < roundsPerFork; inFork++) {
        const round = fork * roundsPerFork + inFork;
        const off = crossover ? ((inFork % 2) as 0 | 1) : 0;
        await assign(off);
        offIn.push(off);
        const roundStart = performance.now();
        const roundErrors: Record<Name, number> = { minimal: 0, off: 0, enforce: 0 };
        const sum: Record<Name, { responses: number; seconds: number; cpu: number; between: number }> = {
          minimal: { responses: 0, seconds: 0, cpu: 0, between: 0 },
          off: { responses: 0, seconds: 0, cpu: 0, between: 0 },
          enforce: { responses: 0, seconds: 0, cpu: 0, between: 0 },
        };
        for (const order of ORDERS) {
          for (const name of order) {
            const r: SliceResult = await slice(name, off);
            errors += r.errors;
            roundErrors[name] += r.errors;
            sum[name].responses += r.responses;
            sum[name].seconds += r.seconds;
            if (r.cpuSeconds === undefined) cpuRead = false;
            else sum[name].cpu += r.cpuSeconds;
            if (r.betweenCpuSeconds !== undefined) sum[name].between += r.betweenCpuSeconds;
          }
        }
        const line: string[] = [];
        for (const name of NAMES) {
          const { responses, seconds, cpu, between } = sum[name];
          runs[name].responses.push(responses);
          runs[name].rps.push(responses / seconds);
          runs[name].between.push(between);
          if (cpuRead) {
            runs[name].cpuUs.push(((cpu + between) / responses) * 1e6);
            runs[name].busy.push(cpu / seconds);
          }
          line.push(`${name} ${(responses / seconds).toFixed(0)} rps${cpuRead ? ` (busy ${(cpu / seconds).toFixed(2)})` : ''}`);
        }
        const who = crossover ? ` [off: ${sidecars[off].service}]` : '';
        console.log(`round ${String(round + 1).padStart(2)}${who}: ${line.join(', ')}; load ${await loadAverage()}`);
        await stopOnFailedRound(
          round + 1,
          NAMES,
          NAMES.map((n) => load!.target(indexOf(n, off))),
          NAMES.map((n) => roundErrors[n]),
        );
        roundMs = Math.max(roundMs, performance.now() - roundStart);
      }
    }
    console.log(`\nfigure                              | requests/s    | CPU µs/request | server busy |`);
    for (const n of NAMES) {
      const label = n === 'minimal' ? 'minimal node http + pg (reference)' : `sidecar /query light, verify ${n}`;
      const cpu = runs[n].cpuUs.length ? range(runs[n].cpuUs) : 'n/a';
      const busy = runs[n].busy.length ? range(runs[n].busy, 2) : 'n/a';
      console.log(`${label.padEnd(36)}| ${range(runs[n].rps).padEnd(14)}| ${cpu.padEnd(15)}| ${busy.padEnd(12)}|`);
    }
    if (cpuRead) {
      const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const perRequest = (n: Name) => `${n} ${((total(runs[n].between) / total(runs[n].responses)) * 1e6).toFixed(2)}`;
      console.log(`of which between a server's slices (its GC finishing, its timers), µs per request: ${NAMES.map(perRequest).join(', ')}`);
    }
    // A round's contenders share that round's seconds of the host; the verdict is read from those
    // paired ratios — their median and its order-statistic interval — not from the pooled figures
    // (the host's drift between runs moved one server's CPU per request by 64–99 µs in one session).
    // With the crossover, two consecutive rounds (one with each sidecar off) make one figure, the geometric
    // mean of their ratios: what one process costs more than the other cancels out of enforce / off.
    // With forks, each fork's figure is the median of its own rounds (pairs of rounds), and the verdicts are
    // read over the forks: rounds of one process are not independent draws of what a new process does.
    const roundRatios = (a: Name, b: Name, f: 'rps' | 'cpuUs') => runs[a][f].map((x, i) => x / runs[b][f][i]!);
    const perRound = (a: Name, b: Name, f: 'rps' | 'cpuUs' = 'rps') => {
      const r = roundRatios(a, b, f);
      const units = crossover ? Array.from({ length: r.length >> 1 }, (_, k) => Math.sqrt(r[2 * k]! * r[2 * k + 1]!)) : r;
      if (forks === 1) return units;
      const perFork = units.length / forks;
      return Array.from({ length: forks }, (_, k) => median(units.slice(k * perFork, (k + 1) * perFork)));
    };
    const unit = forks > 1 ? ' forks)' : crossover ? ' pairs of rounds)' : ' rounds)';
    const inPairs = (text: string) =>
      text.replace(/ rounds\)/, unit).replace('run more rounds', forks > 1 ? 'run more forks' : 'run more rounds');
    if (forks > 1) {
      const fig = (a: Name, b: Name, f: 'rps' | 'cpuUs') => perRound(a, b, f).map((x) => x.toFixed(2));
      const rps = [fig('off', 'minimal', 'rps'), fig('enforce', 'off', 'rps')];
      const cpu = cpuRead ? [fig('off', 'minimal', 'cpuUs'), fig('enforce', 'off', 'cpuUs')] : null;
      for (let k = 0; k < forks; k++) {
        const cpuText = cpu ? `; CPU per request ${cpu[0]![k]}, ${cpu[1]![k]}` : '';
        console.log(`fork ${k + 1}: off / minimal ${rps[0]![k]}, enforce / off ${rps[1]![k]} req/s (medians)${cpuText}`);
      }
    } else {
      console.log(
        'one fork: the intervals below hold the rounds of one process per contender, not what a new process changes ' +
          '(off / minimal pairs two programs, which no crossover cancels); --forks K reads them over K sets of fresh processes',
      );
    }
    console.log(
      `sidecar off / minimal, req/s (median): ${inPairs(describeTarget(checkTarget(perRound('off', 'minimal'), 0.9, 'at-least')))}`,
    );
    console.log(
      `enforce / off, req/s (median):         ${inPairs(describeTarget(checkTarget(perRound('enforce', 'off'), 0.95, 'at-least')))}`,
    );
    if (cpuRead) {
      const cpu = (a: Name, b: Name) => inPairs(describeInterval(checkTarget(perRound(a, b, 'cpuUs'), 1, 'at-most')));
      console.log(`CPU per request, sidecar off / minimal:  ${cpu('off', 'minimal')} (reported, no target)`);
      console.log(`CPU per request, enforce / off:          ${cpu('enforce', 'off')} (reported, no target)`);
      const leastBusy = Math.min(...NAMES.flatMap((n) => runs[n].busy));
      if (pinPlan !== null && leastBusy < SATURATED) {
        console.log(
          `note: a pinned server's core was only ${leastBusy.toFixed(2)} busy in some round (< ${SATURATED}): the load side, not the server, ` +
            "limited it, and its ratios understate the servers' difference",
        );
      }
    }
    if (crossover) {
      // The two processes apart: how far one sidecar process differs from the other one, same code and load.
      const by = (off: 0 | 1, f: 'rps' | 'cpuUs') => roundRatios('enforce', 'off', f).filter((_, i) => offIn[i] === off);
      for (const off of [1, 0] as const) {
        const cpu = cpuRead ? `, CPU per request ${describeInterval(checkTarget(by(off, 'cpuUs'), 1, 'at-most'))}` : '';
        console.log(
          `  ${sidecars[1 - off]!.service} enforcing, ${sidecars[off].service} off: enforce / off req/s ` +
            `${describeInterval(checkTarget(by(off, 'rps'), 0.95, 'at-least'))}${cpu}`,
        );
      }
    }
    if (profDir !== undefined) {
      console.log(
        `profiles in ${profDir}: verify off (pid ${serverPids[1]}) answered ${served[1]} requests, ` +
          `enforce (pid ${serverPids[2]}) ${served[2]}, the minimal server (pid ${serverPids[0]}) ${served[0]}, warm-up included`,
      );
    }
    console.log(`errors: ${errors}; load average at end ${await loadAverage()}`);
    if (errors > 0) process.exitCode = 1;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(`bench:sidecar failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
