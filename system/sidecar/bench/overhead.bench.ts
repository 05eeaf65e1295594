/**
 * Quick end-to-end look at the sidecar's auth overhead on this machine (not the study: the runner
 * measures that properly). Two real sidecars (p1-a → p1-b) over real PostgreSQL and the fixture IdP;
 * a closed loop of CONNECTIONS workers calls p1-a `/call/p1-b/query` (light) for ROUND_S seconds per
 * mode, modes interleaved for ROUNDS rounds; latencies recorded in µs (HDR).
 * Run: `npx tsx system/sidecar/bench/overhead.bench.ts` (about 2 × ROUNDS × ROUND_S seconds + setup).
 */
import { build } from 'hdr-histogram-js';
import { Pool } from 'undici';
import { startTestPostgres } from '../../../test/support/pg.js';
import { startFixtureIdp } from '../testing/fixture-idp.js';
import { startSidecar, waitFor, writeSaToken } from '../testing/harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROUND_S = Number(process.env.BENCH_ROUND_S ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const MODES = ['off', 'enforce'] as const;

async function main(): Promise<void> {
  const pg = await startTestPostgres();
  const idp = await startFixtureIdp();
  const cleanups: (() => Promise<void>)[] = [];
  try {
    idp.register('sa-a', 'p1-a', ['p1-b'], { 'p1-b': ['read', 'write'] });
    idp.register('sa-b', 'p1-b', ['p1-a'], { 'p1-a': ['read'] });
    const saA = await writeSaToken('sa-a');
    const saB = await writeSaToken('sa-b');
    cleanups.push(saA.cleanup, saB.cleanup);
    const b = await startSidecar({ service: 'p1-b', pair: 1, databaseUrl: await pg.createDatabase('p1-b'), idpUrl: idp.url, saTokenPath: saB.path, peers: {} });
    cleanups.push(() => b.sidecar.close());
    const a = await startSidecar({ service: 'p1-a', pair: 1, databaseUrl: await pg.createDatabase('p1-a'), idpUrl: idp.url, saTokenPath: saA.path, peers: { 'p1-b': b.url } });
    cleanups.push(() => a.sidecar.close());
    await waitFor('ready', async () => (await fetch(`${a.url}/readyz`)).ok && (await fetch(`${b.url}/readyz`)).ok);

    const client = new Pool(a.url, { connections: CONNECTIONS });
    cleanups.push(() => client.close());
    const body = '{"query":"light","params":{"id":42}}';
    const hist = Object.fromEntries(MODES.map((m) => [m, build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })]));
    let errors = 0;
    // CPU time of this process (both sidecars + client) per request: far less sensitive than wall
    // time to other processes competing for the two cores.
    const cpu = Object.fromEntries(MODES.map((m) => [m, { us: 0, n: 0 }]));

    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        const settings = mode === 'off' ? { signMode: 'off' as const, verifyMode: 'off' as const } : { signMode: 'on' as const, verifyMode: 'enforce' as const };
        const snap = idp.publish((s) => (s.settings.global = { ...s.settings.global, ...settings }));
        await waitFor('settings applied', () => a.sidecar.settings.current().revision === snap.revision && b.sidecar.settings.current().revision === snap.revision);
        const end = Date.now() + ROUND_S * 1000;
        const warmEnd = Date.now() + 300;
        const before = hist[mode]!.totalCount;
        let cpuStart: NodeJS.CpuUsage | null = null;
        const warmTimer = setTimeout(() => (cpuStart = process.cpuUsage()), 300);
        await Promise.all(
          Array.from({ length: CONNECTIONS }, async () => {
            while (Date.now() < end) {
              const t0 = process.hrtime.bigint();
              const res = await client.request({ path: '/call/p1-b/query', method: 'POST', headers: { 'content-type': 'application/json' }, body });
              await res.body.text();
              const us = Number(process.hrtime.bigint() - t0) / 1000;
              if (res.statusCode !== 200) errors++;
              else if (Date.now() > warmEnd) hist[mode]!.recordValue(Math.round(us));
            }
          }),
        );
        clearTimeout(warmTimer);
        if (cpuStart) {
          const d = process.cpuUsage(cpuStart);
          cpu[mode]!.us += d.user + d.system;
          cpu[mode]!.n += hist[mode]!.totalCount - before;
        }
      }
    }
    const row = (m: string) => {
      const h = hist[m]!;
      const c = cpu[m]!;
      return `${m.padEnd(8)} n=${String(h.totalCount).padStart(7)}  p50=${h.getValueAtPercentile(50)} µs  p90=${h.getValueAtPercentile(90)} µs  p99=${h.getValueAtPercentile(99)} µs  cpu=${(c.us / Math.max(1, c.n)).toFixed(1)} µs/req`;
    };
    console.log(`node ${process.version}, ${CONNECTIONS} connections, ${ROUNDS}×${ROUND_S}s per mode, interleaved; errors=${errors}`);
    for (const m of MODES) console.log(row(m));
    const d = hist.enforce!.getValueAtPercentile(50) - hist.off!.getValueAtPercentile(50);
    console.log(`auth overhead (enforce − off) at p50: ${d} µs (target ≤ 50 µs; noisy on a shared 2-core host)`);
    console.log(`auth CPU cost (enforce − off), both sidecars: ${((cpu.enforce!.us / Math.max(1, cpu.enforce!.n)) - (cpu.off!.us / Math.max(1, cpu.off!.n))).toFixed(1)} µs/req`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await idp.close();
    await pg.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
