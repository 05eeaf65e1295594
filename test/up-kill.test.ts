/**
 * Issue 15, item 1: `kill -9` of `authlab up` left PostgreSQL, the identity issuer, the IdP and every
 * sidecar running; a second `up` then failed on the busy ports and deleted the state file, after
 * which `down` said "nothing to stop". Children must not outlive the runner, and a stale state is
 * recovered by `down` and `up`, never discarded.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpState } from '../runner/cli/state.js';
import { alivePids, descendantPids, runAuthlab, startUp } from './support/cli.js';

let runs: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  runs = await mkdtemp(join(tmpdir(), 'authlab-upkill-test-'));
});
afterAll(async () => {
  // Only if a test failed midway: stop what this file started, each by its own pid.
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: runs });
  await rm(runs, { recursive: true, force: true });
});

/** Starts `authlab up --pairs 1` and resolves once it is ready. */
async function upReady(): Promise<{ up: ChildProcess; stderr: () => string; exit: Promise<number | null> }> {
  const { up, stderr, exit, ready } = startUp(['up', '--pairs', '1'], { AUTHLAB_RUNS_DIR: runs });
  started.push(up);
  await ready;
  return { up, stderr, exit };
}

const readState = async () => JSON.parse(await readFile(join(runs, 'up', 'state.json'), 'utf8')) as UpState;

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  let alive = await alivePids(pids);
  while (alive.length > 0 && Date.now() < end) {
    await sleep(100);
    alive = await alivePids(pids);
  }
  return alive;
}

describe('kill -9 of `authlab up`', () => {
  it('takes every child with it; the next `up` recovers the stale state and starts; `down` stops it', async () => {
    const first = await upReady();
    const state = await readState();
    expect(state.workDir).toMatch(/authlab-local-/);
    const children = await descendantPids(first.up.pid!);
    expect(children.length).toBeGreaterThanOrEqual(4); // postgres, identity, idp, 2 sidecars (and PostgreSQL's own)

    first.up.kill('SIGKILL');
    await first.exit;
    expect(await waitGone(children, 15_000)).toEqual([]);
    // The killed runner could not clean up: its state and work dir are still there for recovery.
    expect((await readState()).pid).toBe(first.up.pid);

    const second = await upReady();
    expect(second.stderr()).toMatch(
      new RegExp(`authlab up \\(pid ${first.up.pid}\\) was no longer running; .*removed its work dir .*authlab-local-`),
    );
    await expect(stat(state.workDir!)).rejects.toThrow(/ENOENT/);
    const secondChildren = await descendantPids(second.up.pid!);

    const down = await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: runs });
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(new RegExp(`^stopped authlab up \\(pid ${second.up.pid}\\)`));
    expect(await second.exit).toBe(0);
    expect(await alivePids([second.up.pid!, ...secondChildren])).toEqual([]);
  });

  it('`down` after a kill stops what is still running from its work dir and removes it, instead of "nothing to stop"', async () => {
    // What a runner without parent-death handling (no setpriv) leaves: a process running from its work dir.
    const workDir = await mkdtemp(join(tmpdir(), 'authlab-local-'));
    await mkdir(join(workDir, 'config'));
    const leftover = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', join(workDir, 'config', 'p1-a.json')], {
      stdio: 'ignore',
    });
    started.push(leftover);
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    // Its own runs dir: the first test's state (if it failed midway) stays for afterAll's `down`.
    const ownRuns = await mkdtemp(join(tmpdir(), 'authlab-upkill-test-'));
    await mkdir(join(ownRuns, 'up'), { recursive: true });
    const stale: UpState = { pid: dead.pid!, startedAt: new Date().toISOString(), status: 'ready', pairs: 1, workDir };
    await writeFile(join(ownRuns, 'up', 'state.json'), JSON.stringify(stale));

    const down = await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: ownRuns });
    const stateLeft = await stat(join(ownRuns, 'up', 'state.json')).then(
      () => true,
      () => false,
    );
    await rm(ownRuns, { recursive: true, force: true });
    expect(stateLeft).toBe(false);
    expect(down.code).toBe(0);
    expect(down.stdout.trim()).toBe(
      `authlab up (pid ${dead.pid}) was no longer running; stopped 1 leftover process(es), removed its work dir ${workDir}, removed its state file`,
    );
    expect(await alivePids([leftover.pid!])).toEqual([]);
    await expect(stat(workDir)).rejects.toThrow(/ENOENT/);
  });
});
