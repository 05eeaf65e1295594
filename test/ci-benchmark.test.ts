import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../cluster/kind/preflight.js';
import type { History } from '../reports/history.js';
import { acquireClusterLock, kubeSkipReason } from './support/kube.js';
import { runAuthlab } from './support/cli.js';

// `task ci-benchmark` as the scheduled workflow runs it, on the kube platform where this machine can run
// it (else local, saying why): a first run makes the baseline, an unchanged run passes the gate, and a run
// whose enforce mode busy-waits 5 ms per request (the study's --calibrate hook, in the sidecar pods'
// environment on kube) fails it. Each run appends to one history, whose trend the report draws.
const kubeSkip = await kubeSkipReason();
const PLATFORM = kubeSkip ? 'local' : 'kube';
if (kubeSkip) console.warn(`test/ci-benchmark.test.ts runs on the local platform: ${kubeSkip}`);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const task = await findTool('task');
if (!task)
  console.warn(
    'SKIP test/ci-benchmark.test.ts: the `task` binary is not installed (go install github.com/go-task/task/v3/cmd/task@v3.54.0)',
  );

function runTask(
  vars: Record<string, string>,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string }> {
  const args = ['-x', 'ci-benchmark', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ...(extra.length ? ['--', ...extra] : [])];
  const child = spawn(task!, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((res) => child.on('close', (code) => res({ code, out })));
}

describe.skipIf(!task)(`task ci-benchmark (${PLATFORM} platform)`, () => {
  let dir: string;
  let vars: (name: string) => Record<string, string>;
  let unlock: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authlab-ci-benchmark-'));
    vars = (name) => ({
      PLATFORM,
      OUT: join(dir, name),
      BASELINE: join(dir, 'base', 'results.json'),
      HISTORY: join(dir, 'history.json'),
    });
    if (PLATFORM === 'kube') {
      // One cluster for the three studies (each deploys and removes the auth system on it).
      unlock = await acquireClusterLock();
      const up = await runAuthlab(['cluster', 'up'], {}, 900_000);
      expect(up.code, up.stderr).toBe(0);
    }
  }, 900_000);
  afterAll(async () => {
    if (unlock) {
      await runAuthlab(['cluster', 'down'], {}, 120_000);
      await unlock();
    }
    await rm(dir, { recursive: true, force: true });
  }, 130_000);

  it('without a baseline: passes and says so; with the stored baseline: an unchanged run passes, a slowed enforce fails', async () => {
    const first = await runTask(vars('base'));
    expect(first.code, first.out.slice(-3000)).toBe(0);
    expect(first.out).toMatch(/No baseline at .*: nothing to compare/);

    const summary = join(dir, 'step-summary.md');
    const same = await runTask(vars('same'), [], { GITHUB_STEP_SUMMARY: summary });
    expect(same.code, same.out.slice(-3000)).toBe(0);
    expect(same.out).toMatch(/ci-benchmark: no significant regression/);
    const step = await readFile(summary, 'utf8');
    expect(step).toMatch(/## Compared with the last baseline from main/);
    expect(step).toMatch(/light/);

    const slow = await runTask(vars('slow'), ['--calibrate', '5000']);
    expect(slow.code, slow.out.slice(-3000)).toBe(1);
    expect(slow.out).toMatch(/ci-benchmark: significant regression against the baseline/);
    expect(await readFile(join(dir, 'slow', 'compare.md'), 'utf8')).toMatch(/light.*enforce.*regress/is);

    const history = JSON.parse(await readFile(join(dir, 'history.json'), 'utf8')) as History;
    expect(history.entries).toHaveLength(3);
    expect(history.entries.map((e) => e.platform)).toEqual([PLATFORM, PLATFORM, PLATFORM]);
    const enforceP50 = history.entries.map((e) => e.figuresUs['light enforce p50'] ?? 0);
    expect(enforceP50[2]!).toBeGreaterThan(enforceP50[0]! + 4000);
    const html = await readFile(join(dir, 'slow', 'report.html'), 'utf8');
    expect(html).toContain('Trend across benchmark runs');
    expect(html).toContain('3 run(s) of the benchmark history');
  }, 900_000);
});
