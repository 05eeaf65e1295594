/**
 * Issue 15, item 2: `up` did not watch its children. After the IdP was SIGKILLed or PostgreSQL
 * stopped there was no log line, no restart, no exit, and sidecar /readyz stayed 200. Now a death is
 * reported at once on the console and in `authlab status`, handled per `--restart`, and readiness
 * says what a sidecar cannot do.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { UpState } from '../runner/cli/state.js';
import { alivePids, descendantPids, runAuthlab, startUp as startAuthlabUp } from './support/cli.js';

const dirs: string[] = [];
const ups: ChildProcess[] = [];
afterAll(async () => {
  for (const dir of dirs) await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: dir });
  for (const up of ups) if (up.exitCode === null && up.signalCode === null) up.kill('SIGTERM');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Up {
  up: ChildProcess;
  runs: string;
  lines: string[];
  /** Resolves with the first stderr line matching `re` (seen already or to come), or rejects after `ms`. */
  line(re: RegExp, ms?: number): Promise<string>;
  state(): Promise<UpState>;
  exit: Promise<number | null>;
}

async function startUp(extra: string[]): Promise<Up> {
  const runs = await mkdtemp(join(tmpdir(), 'authlab-supervise-test-'));
  dirs.push(runs);
  const { up, lines, exit, ready } = startAuthlabUp(['up', '--pairs', '1', ...extra], { AUTHLAB_RUNS_DIR: runs });
  ups.push(up);
  await ready;
  return {
    up,
    runs,
    lines,
    exit,
    async line(re, ms = 10_000) {
      const end = Date.now() + ms;
      for (;;) {
        const hit = lines.find((l) => re.test(l));
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`no line matching ${re} within ${ms} ms:\n${lines.join('\n')}`);
        await sleep(25);
      }
    },
    state: async () => JSON.parse(await readFile(join(runs, 'up', 'state.json'), 'utf8')) as UpState,
  };
}

const status = (runs: string) => runAuthlab(['status'], { AUTHLAB_RUNS_DIR: runs });

async function eventually(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('`authlab up` supervises its children', () => {
  it('--restart on-failure (default): a SIGKILLed IdP or PostgreSQL is reported at once and restarted; status shows it', async () => {
    const u = await startUp([]);
    const before = await status(u.runs);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/every component ready/);
    const children = await descendantPids(u.up.pid!);

    for (const name of ['idp', 'postgres']) {
      const old = (await u.state()).components![name]!.pid;
      const t0 = Date.now();
      process.kill(old, 'SIGKILL');
      await u.line(new RegExp(`${name} \\(pid ${old}\\) exited unexpectedly \\(signal SIGKILL\\); restarting`), 5_000);
      expect(Date.now() - t0).toBeLessThan(5_000);
      const restarted = await u.line(new RegExp(`${name} restarted \\(pid \\d+`), 30_000);
      const now = Number(/pid (\d+)/.exec(restarted)![1]);
      expect(now).not.toBe(old);
      expect(await alivePids([old])).toEqual([]);
      expect(await alivePids([now])).toEqual([now]);
      // The log line is printed as the restart happens; state.json follows by an atomic rename queued
      // behind earlier writes, so on a loaded host `status` can lag the log by a moment.
      await eventually(
        `state.json to show ${name} running as pid ${now}, restarted once`,
        async () => {
          const c = (await u.state()).components![name]!;
          return c.pid === now && c.state === 'running' && c.restarts === 1;
        },
        5_000,
      );
      // Sidecars reconnect to the new IdP / database on their own: everything is ready again.
      await eventually('every component ready', async () => (await status(u.runs)).code === 0);
    }
    const restartedPids = Object.values((await u.state()).components!).map((c) => c.pid);
    const after = await status(u.runs);
    expect(after.stdout).toMatch(/idp\s+pid \d+\s+ready; restarts 1; last: restarted/);
    expect(after.stdout).toMatch(/recent events:/);

    const down = await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: u.runs });
    expect(down.code).toBe(0);
    expect(await u.exit).toBe(0);
    expect(await alivePids([u.up.pid!, ...children, ...restartedPids])).toEqual([]);
  });

  it('--restart no: the dead IdP stays down, and status and the sidecars say what cannot be done', async () => {
    const u = await startUp(['--restart', 'no']);
    const idpPid = (await u.state()).components!.idp!.pid;
    process.kill(idpPid, 'SIGKILL');
    await u.line(new RegExp(`idp \\(pid ${idpPid}\\) exited unexpectedly \\(signal SIGKILL\\); not restarting`), 5_000);
    await eventually('status shows the IdP down', async () => {
      const s = await status(u.runs);
      return s.code === 1 && /idp\s+pid \d+\s+down \(not restarted\)/.test(s.stdout);
    });
    const s = await status(u.runs);
    expect(s.stdout).toMatch(/NOT every component is ready/);
    expect(s.stdout).toMatch(
      /p1-a\s+pid \d+\s+not ready \(503\): Not ready: the IdP settings stream is down, so it cannot refresh its token/,
    );
    expect(u.up.exitCode).toBeNull(); // up keeps running: the user decides
    const down = await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: u.runs });
    expect(down.code).toBe(0);
    expect(await u.exit).toBe(0);
  });

  it('status without a running up says so and exits 1', async () => {
    const runs = await mkdtemp(join(tmpdir(), 'authlab-supervise-test-'));
    dirs.push(runs);
    const s = await status(runs);
    expect(s.code).toBe(1);
    expect(s.stdout.trim()).toBe('authlab up is not running (no runs/up/state.json)');
  });
});
