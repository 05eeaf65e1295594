import { Resolver } from 'node:dns/promises';
import { cp, link, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterApi, nodeReady } from '../cluster/api.js';
import { diffSnapshots, hostSnapshot, type HostSnapshot } from '../cluster/host-snapshot.js';
import { buildPaths, clusterPaths } from '../cluster/paths.js';
import type { ClusterState } from '../cluster/state.js';
import { NET, PORTS } from '../cluster/topology.js';
import { runAuthlab, startAuthlab } from './support/cli.js';
import { acquireClusterLock, kubeSkipReason } from './support/kube.js';

// `authlab cluster up → node Ready → down` as a user runs it, with the host compared before and after.
const skip = await kubeSkipReason();
if (skip) console.warn(`SKIP test/kube-cluster.test.ts: ${skip}`);

const paths = clusterPaths();
let before: HostSnapshot;
let unlock: (() => Promise<void>) | undefined;

describe.skipIf(!!skip)('authlab cluster (real Kubernetes on this host)', () => {
  beforeAll(async () => {
    unlock = await acquireClusterLock();
    const stale = await runAuthlab(['cluster', 'status']);
    expect(stale.stdout, 'a cluster is already up on this host; run `authlab cluster down` before the tests').toMatch(/no cluster is up/);
    before = await hostSnapshot();
  }, 900_000);

  afterAll(async () => {
    // Only when a test failed half-way: never leave a cluster behind.
    await runAuthlab(['cluster', 'down'], {}, 120_000);
    await unlock?.();
  }, 130_000);

  it('refuses a busy port with one sentence and exit 2, creating nothing', async () => {
    const server: Server = createServer();
    await new Promise<void>((res) => server.listen(PORTS.etcdClient, '127.0.0.1', res));
    try {
      const r = await runAuthlab(['cluster', 'up'], {}, 60_000);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`port ${PORTS.etcdClient} .* already in use`));
    } finally {
      await new Promise((res) => server.close(res));
    }
    expect(diffSnapshots(before, await hostSnapshot())).toEqual([]);
  });

  it('comes up with a Ready node within 30 s, refuses a second up, and down leaves the host as it was', async () => {
    const up = await runAuthlab(['cluster', 'up'], {}, 240_000);
    expect(up.code, up.stderr).toBe(0);
    const readyS = Number(/node Ready in ([\d.]+) s/.exec(up.stdout)?.[1]);
    console.log(`cluster up: node Ready in ${readyS} s`);
    expect(readyS).toBeLessThanOrEqual(30);

    const api = clusterApi(paths.kubeconfig);
    const node = await api.core.readNode({ name: NET.nodeName });
    expect(nodeReady(node)).toBe(true);
    expect(node.status?.nodeInfo?.kubeletVersion).toBe('v1.34.4');

    const status = await runAuthlab(['cluster', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`${NET.nodeName} Ready`));
    expect(status.stdout).toMatch(/v1\.34\.4/);

    const again = await runAuthlab(['cluster', 'up']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already up/);

    // Cluster DNS answers cluster names and refuses every other name (no upstream: nothing leaves).
    const dns = new Resolver({ timeout: 2000, tries: 1 });
    dns.setServers([NET.nodeIp]);
    expect(await dns.resolve4('kubernetes.default.svc.cluster.local')).toEqual([NET.apiServiceIp]);
    await expect(dns.resolve4('example.com')).rejects.toMatchObject({ code: 'EREFUSED' });

    const t0 = performance.now();
    const down = await runAuthlab(['cluster', 'down'], {}, 120_000);
    console.log(`cluster down: ${Math.round(performance.now() - t0)} ms (${down.stdout.trim()})`);
    expect(down.code, down.stderr).toBe(0);
    expect(diffSnapshots(before, await hostSnapshot())).toEqual([]);
  }, 360_000);

  it('recovers a killed up: the next up says to run down, and down removes everything', async () => {
    const up = startAuthlab(['cluster', 'up']);
    // Kill it mid-way: once the apiserver has been started (etcd, containerd, bridge, PKI exist).
    for (let i = 0; i < 600; i++) {
      const state = await readFile(paths.state, 'utf8')
        .then((s) => JSON.parse(s) as ClusterState)
        .catch(() => undefined);
      if (state?.daemons.some((d) => d.name === 'kube-apiserver')) break;
      await sleep(100);
    }
    up.kill('SIGKILL');
    await new Promise((res) => up.on('close', res));

    const again = await runAuthlab(['cluster', 'up']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/run `authlab cluster down`/);

    const down = await runAuthlab(['cluster', 'down'], {}, 120_000);
    expect(down.code, down.stderr).toBe(0);
    expect(diffSnapshots(before, await hostSnapshot())).toEqual([]);
  }, 240_000);

  it('up builds a missing binary first, saying so, then comes up; down removes it all', async () => {
    // A cache like the one a first `up` finds after a partial build: every binary but `pause`
    // (the quickest to build), in a cache of its own so the shared one is never touched. Binaries are
    // hard links (the build replaces a file by rename, never writes into one); the manifest and
    // sources are copies. GOCACHE stays the real one, or Go would start from an empty build cache.
    const xdg = await mkdtemp(join(tmpdir(), 'authlab-build-on-up-'));
    const env = { XDG_CACHE_HOME: xdg, GOCACHE: process.env.GOCACHE || join(process.env.HOME ?? '/root', '.cache', 'go-build') };
    const real = buildPaths();
    const mine = buildPaths(env);
    try {
      await mkdir(mine.bin, { recursive: true });
      for (const name of await readdir(real.bin))
        if (name !== 'pause' && !name.startsWith('.')) await link(join(real.bin, name), join(mine.bin, name));
      await cp(real.manifest, mine.manifest);
      await cp(real.src, mine.src, { recursive: true });

      const up = await runAuthlab(['cluster', 'up'], env, 600_000);
      expect(up.code, up.stderr).toBe(0);
      const said = up.stdout + up.stderr;
      expect(said).toMatch(/binaries are not built yet; building them once/);
      expect(said).toMatch(/building pause \(1\/1\)/);
      expect(said).toMatch(/node Ready in/);
      expect((await readdir(mine.bin)).sort()).toEqual((await readdir(real.bin)).filter((n) => !n.startsWith('.')).sort());
      expect(await runAuthlab(['cluster', 'status'], env).then((r) => r.stdout)).toMatch(new RegExp(`${NET.nodeName} Ready`));

      const down = await runAuthlab(['cluster', 'down'], env, 120_000);
      expect(down.code, down.stderr).toBe(0);
      expect(diffSnapshots(before, await hostSnapshot())).toEqual([]);
    } finally {
      await runAuthlab(['cluster', 'down'], env, 120_000);
      await rm(xdg, { recursive: true, force: true });
    }
  }, 720_000);
});
