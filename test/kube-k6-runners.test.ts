import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { clusterPaths } from '../cluster/paths.js';
import { findK6 } from '../runner/engines/k6.js';
import type { Results } from '../results/schema.js';
import { runAuthlab } from './support/cli.js';
import { acquireClusterLock, kubeSkipReason } from './support/kube.js';

// `--engine k6 --k6-runners 2` on the kube platform: k6 as two pods splitting each run's arrival rate.
const skip = (await kubeSkipReason()) ?? ((await findK6()) ? undefined : 'no k6 binary (go install go.k6.io/k6@v1.8.1)');
if (skip) console.warn(`SKIP test/kube-k6-runners.test.ts: ${skip}`);

describe.skipIf(!!skip)('study --engine k6 --k6-runners 2 --platform kube', () => {
  let unlock: (() => Promise<void>) | undefined;
  let runs: string;
  beforeAll(async () => {
    unlock = await acquireClusterLock();
    runs = await mkdtemp(join(tmpdir(), 'authlab-k6-runners-'));
    const up = await runAuthlab(['cluster', 'up'], {}, 900_000);
    expect(up.code, up.stderr).toBe(0);
  }, 900_000);
  afterAll(async () => {
    await runAuthlab(['cluster', 'down'], {}, 120_000);
    if (runs) await rm(runs, { recursive: true, force: true });
    await unlock?.();
  }, 130_000);

  it('two runner pods drive every run, their samples are folded per run, and the load namespace is removed', async () => {
    const out = join(runs, 'study');
    const r = await runAuthlab(
      [
        'study',
        '--platform',
        'kube',
        '--engine',
        'k6',
        '--k6-runners',
        '2',
        '--quick',
        '--scenarios',
        'light',
        '--trials',
        '2',
        '--out',
        out,
      ],
      { AUTHLAB_RUNS_DIR: runs },
      600_000,
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toMatch(/k6 runs as 2 pod\(s\) in the cluster/);
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as Results;
    expect(results.study.engine).toBe('k6');
    expect(results.study.k6Runners).toBe(2);
    const light = results.runs.filter((x) => x.scenario === 'light');
    expect(light.length).toBe(8);
    for (const run of light) {
      // Samples came back from the pods' logs for every run; a run short of its schedule (a busy host
      // starves the runners) is invalid and says it was k6 that dropped iterations. That the segments
      // add up to the whole rate is runner/engines/k6-segments.test.ts's (two real k6 processes).
      // The study's own rule: at most 1% of a run's requests may fail (a starved runner's timeouts).
      const errors = Object.values(run.requests.errors).reduce((a, b) => a + b, 0);
      expect(errors).toBeLessThanOrEqual(0.01 * (run.requests.ok + errors));
      expect(run.requests.ok).toBeGreaterThan(0);
      expect(run.latencyUs.count).toBe(run.requests.ok);
      if (!run.valid) expect(run.invalidReason).toMatch(/^k6 dropped \d+ iterations|^delivered \d+ of \d+ scheduled/);
    }
    expect(results.harnessFloor?.[0]?.p50Us).toBeGreaterThan(0);
    const kc = new KubeConfig();
    kc.loadFromFile(clusterPaths().kubeconfig);
    const names = (await kc.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).not.toContain('authlab-load');
  }, 600_000);
});
