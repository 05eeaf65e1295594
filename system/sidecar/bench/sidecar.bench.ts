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
 * verify off and enforce are two sidecar processes (p1-a with a per-service override to off, p1-b
 * under the global enforce), so neither waits for a settings change between slices.
 *
 * Pinned by default (`--shared` turns it off): the servers under test run on the last CPU and everything
 * else (the load in this process, PostgreSQL, the IdP) on the others, pinned once before the rounds
 * (PostgreSQL's backends, forked as connections open, inherit the postmaster's mask): saturation is then
 * the server's own core, and each round prints how busy the loaded server kept it.
 *
 * Flags: --rounds 24 --slice 250 (ms) --connections 32 --shared
 *        --cpu-prof <dir> (V8 CPU profiles of the two sidecar processes).
 */
import { fileURLToPath } from 'node:url';
import { checkTarget, describeInterval, describeTarget } from '../../../results/stats/index.js';
import { spawnListening } from '../../../runner/platforms/local/child.js';
import { benchFlags } from '../../runtime/bench-flags.js';
import { openSlicedLoad, stopOnFailedRound, type SliceResult, type SliceTarget } from './sliced-load.js';
import { loadAverage, pinPids, serverPinPlan, startBenchStack } from './stack.js';
import { formatCpuList } from '../../../runner/study/pinning.js';

// 24 rounds of 18 slices of 250 ms: about two minutes, like the design it replaced (6 runs × 3 × 6 s).
const flags = benchFlags('bench:sidecar', {
  numbers: { rounds: { default: 24, integer: true }, slice: 250, connections: { default: 32, integer: true } },
  strings: ['cpu-prof'],
  booleans: ['shared'],
});
const pinning = flags.booleans.shared ? { reason: 'not pinned (--shared)' } : serverPinPlan();
const pinPlan = 'reason' in pinning ? null : pinning;
const rounds = flags.numbers.rounds;
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
    const off = await stack.sidecar('p1-a', {}, flags.strings['cpu-prof']);
    const enforce = await stack.sidecar('p1-b', {}, flags.strings['cpu-prof']);
    await stack.setModes('on', 'enforce', { 'p1-a': { signMode: 'off', verifyMode: 'off' } });
    let token = await stack.accessToken('p1-a'); // p1-a's grant names p1-b: enforce admits it

    const minimal = await spawnListening(fileURLToPath(new URL('./minimal-server.ts', import.meta.url)), {
      DATABASE_URL: enforce.databaseUrl,
    });
    cleanups.push(() => minimal.stop());
    const pids: Record<Name, number | undefined> = { minimal: minimal.pid, off: off.component.pid, enforce: enforce.component.pid };
    if (pids.minimal === undefined || pids.off === undefined || pids.enforce === undefined) {
      throw new Error('a server under test has no pid: its CPU cannot be read');
    }
    if (pinPlan !== null) {
      // Once: what forks later (PostgreSQL's backends as connections open) inherits its parent's mask.
      pinPids([process.pid, ...(await stack.supportPids())], pinPlan.rest);
      pinPids(Object.values(pids) as number[], pinPlan.server);
    }
    // In NAMES' order; enforce's headers are replaced when its token is renewed.
    const targets: SliceTarget[] = [
      { url: `${minimal.url}/query`, body: BODY, pids: [pids.minimal] },
      { url: `${off.url}/query`, body: BODY, pids: [pids.off] },
      { url: `${enforce.url}/query`, body: BODY, headers: { authorization: `Bearer ${token.token}` }, pids: [pids.enforce] },
    ];
    const load = await openSlicedLoad(targets, connections);
    cleanups.push(async () => load.close());
    // Every answer, warm-up included: what a profile (--cpu-prof) covers, for scripts/profile-diff.ts.
    const served: Record<Name, number> = { minimal: 0, off: 0, enforce: 0 };
    const slice = async (name: Name) => {
      const r = await load.slice(NAMES.indexOf(name), sliceMs);
      served[name] += r.responses + r.errors;
      return r;
    };
    for (let i = 0; i < WARMUP_SLICES; i++) for (const name of NAMES) await slice(name);

    // Per round and server: answers, req/s, CPU µs per answer, how busy its slices kept it, and the CPU
    // it used between its own slices (its GC finishing, its timers) — that counts in its CPU per request
    // (the round of the slice it precedes), not in how busy it kept its slices, and is printed apart too.
    type PerRound = { responses: number[]; rps: number[]; cpuUs: number[]; busy: number[]; between: number[] };
    const emptyRounds = (): PerRound => ({ responses: [], rps: [], cpuUs: [], busy: [], between: [] });
    const runs: Record<Name, PerRound> = { minimal: emptyRounds(), off: emptyRounds(), enforce: emptyRounds() };
    let errors = 0;
    let cpuRead = true;
    // The token lives the IdP's tokenTtlSeconds (300 s by default), shorter than a long run (--rounds 96:
    // ~8 min): renewed between rounds while a round and a minute's margin remain, so that enforce never
    // refuses an expired token in the middle of a round. The new token costs enforce one uncached verify.
    let roundMs = ORDERS.length * NAMES.length * sliceMs * 2;
    for (let round = 0; round < rounds; round++) {
      if (Date.now() + roundMs + 60_000 > token.expiresAtMs) {
        token = await stack.accessToken('p1-a');
        const i = NAMES.indexOf('enforce');
        targets[i] = { ...targets[i]!, headers: { authorization: `Bearer ${token.token}` } };
        load.setHeaders(i, targets[i].headers!);
      }
      const roundStart = performance.now();
      const roundErrors: Record<Name, number> = { minimal: 0, off: 0, enforce: 0 };
      const sum: Record<Name, { responses: number; seconds: number; cpu: number; between: number }> = {
        minimal: { responses: 0, seconds: 0, cpu: 0, between: 0 },
        off: { responses: 0, seconds: 0, cpu: 0, between: 0 },
        enforce: { responses: 0, seconds: 0, cpu: 0, between: 0 },
      };
      for (const order of ORDERS) {
        for (const name of order) {
          const r: SliceResult = await slice(name);
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
      console.log(`round ${String(round + 1).padStart(2)}: ${line.join(', ')}; load ${await loadAverage()}`);
      await stopOnFailedRound(
        round + 1,
        NAMES,
        targets,
        NAMES.map((n) => roundErrors[n]),
      );
      roundMs = Math.max(roundMs, performance.now() - roundStart);
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
    const perRound = (a: Name, b: Name, f: 'rps' | 'cpuUs' = 'rps') => runs[a][f].map((x, i) => x / runs[b][f][i]!);
    console.log(`sidecar off / minimal, req/s (median): ${describeTarget(checkTarget(perRound('off', 'minimal'), 0.9, 'at-least'))}`);
    console.log(`enforce / off, req/s (median):         ${describeTarget(checkTarget(perRound('enforce', 'off'), 0.95, 'at-least'))}`);
    if (cpuRead) {
      const cpu = (a: Name, b: Name) => describeInterval(checkTarget(perRound(a, b, 'cpuUs'), 1, 'at-most'));
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
    if (flags.strings['cpu-prof'] !== undefined) {
      console.log(
        `profiles in ${flags.strings['cpu-prof']}: verify off (pid ${pids.off}) answered ${served.off} requests, ` +
          `enforce (pid ${pids.enforce}) ${served.enforce}, warm-up included`,
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
