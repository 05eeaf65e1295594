import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTool } from '../runner/live/prometheus.js';
import { processState } from '../runner/live/observe-cost.js';
import { REPO_ROOT } from '../runner/platforms/local/paths.js';
import { alivePids, descendantPids } from './support/cli.js';

const ready = findTool('prometheus') !== null;
if (!ready) console.warn("bench:observe test skipped: Debian's prometheus is missing (apt-get install -y prometheus)");

interface Bench {
  child: ChildProcess;
  out: () => string;
  /** Resolves with the first stdout line matching `re`. */
  line(re: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/** `npm run bench:observe -- <args>` as a user runs it (tsx, from the repository root). */
function startBench(args: string[]): Bench {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'runner/live/observe.bench.ts'), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    waiters.splice(0).forEach((w) => w());
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const line = (re: RegExp) =>
    new Promise<RegExpExecArray>((res, rej) => {
      const check = () => {
        const m = re.exec(stdout);
        if (m) return res(m);
        if (child.exitCode !== null) return rej(new Error(`bench exited without ${re}:\n${stdout}\n${stderr}`));
        waiters.push(check);
      };
      check();
      void exited.then(() => setTimeout(check, 10));
    });
  return { child, out: () => `${stdout}\n--- stderr ---\n${stderr}`, line, exited };
}

describe.skipIf(!ready)('npm run bench:observe', () => {
  it('prints per-trial figures, the paired p50 difference, Prometheus CPU and a verdict, and leaves no process', async () => {
    const bench = startBench(['--trials', '2', '--quick', '--duration', '1', '--seed', '7']);
    await bench.line(/^started: .*$/m);
    const started = await descendantPids(bench.child.pid!);
    expect(started.length).toBeGreaterThan(4);
    const code = await bench.exited;
    const out = bench.out();
    expect(code, out).toBe(0);
    expect(out).toMatch(/seed 7;/);
    // A run the load generator could not deliver (a busy host) is printed as such and left out of the pairs.
    let paired = 0;
    for (const t of [1, 2]) {
      const line = new RegExp(
        `^trial +${t} +(O→U|U→O) +observed p50/p99 \\d+/\\d+( \\(invalid\\))? µs +unobserved \\d+/\\d+( \\(invalid\\))? µs +Δp50 -?\\d+ µs`,
        'm',
      ).exec(out);
      expect(line, out).not.toBeNull();
      if (!line![2] && !line![3]) paired++;
    }
    expect(out).toMatch(new RegExp(`^paired trials: ${paired} of 2 \\(both runs valid\\)$`, 'm'));
    expect(paired, out).toBeGreaterThan(0);
    // Balanced: with two trials, one starts observed and one unobserved.
    expect(out).toMatch(/O→U/);
    expect(out).toMatch(/U→O/);
    expect(out).toMatch(/^p50 observed − unobserved: -?[\d.]+ µs, 95% CI \[-?[\d.]+, -?[\d.]+\], exact signed-rank p = [\d.]+$/m);
    expect(out).toMatch(
      new RegExp(
        `^sidecar CPU per response observed − unobserved \\(being scraped\\): -?[\\d.]+ µs, 95% CI .* \\(${paired} trials\\)$`,
        'm',
      ),
    );
    const cpu = /^prometheus CPU \(1 s scrape\): ([\d.]+)% of one core while scraping, ([\d.]+)% while paused$/m.exec(out);
    expect(cpu, out).not.toBeNull();
    // Scraping costs something; a stopped Prometheus costs nothing: the "unobserved" arm really is.
    expect(Number(cpu![1])).toBeGreaterThan(0);
    expect(Number(cpu![2])).toBe(0);
    expect(out).toMatch(/^runner CPU \(load generator \+ live series, reference\): [\d.]+% observed arm, [\d.]+% unobserved arm$/m);
    expect(out).toMatch(/^verdict: observing (DOES|does not) significantly change light p50 .*(meets|misses) the < 2% target$/m);
    expect(await alivePids(started)).toEqual([]);
  }, 180_000);

  it('stops everything on Ctrl-C, also while Prometheus is paused', async () => {
    const bench = startBench(['--trials', '4', '--quick', '--seed', '3']);
    const m = await bench.line(/^started: .*prometheus pid (\d+)/m);
    const prometheusPid = Number(m[1]);
    const started = await descendantPids(bench.child.pid!);
    // Wait for an unobserved run: Prometheus stopped with SIGSTOP, its SIGTERM would stay pending.
    let state: string | undefined;
    for (let i = 0; i < 600 && (state = await processState(prometheusPid)) !== 'T'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(state, bench.out()).toBe('T');
    bench.child.kill('SIGINT');
    expect(await bench.exited, bench.out()).toBe(130);
    expect(bench.out()).toMatch(/interrupted; everything was stopped/);
    expect(await alivePids(started)).toEqual([]);
  }, 180_000);
});
