import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { kindCommands, shown } from '../cluster/kind/commands.js';
import { KIND_CONFIG_PATH, readKindConfig } from '../cluster/kind/config.js';
import { kindLoader, runCommand } from '../cluster/kind/load.js';
import { findTool } from '../cluster/kind/preflight.js';
import { componentImages } from '../cluster/images/component-images.js';
import { clusterPaths, kubeCacheRoot } from '../cluster/paths.js';
import { execTool } from '../cluster/exec.js';
import type { Results } from '../results/schema.js';
import { runAuthlab } from './support/cli.js';
import { acquireClusterLock, kubeSkipReason } from './support/kube.js';

// `--platform kind`. No kind node image can be pulled on the machine this was built on (a docker
// client without a daemon), so the first block runs everything up to that step with the real kind and
// docker binaries; the second runs the kind platform's deployment and port-forward path end to end
// against this host's kube cluster through `--kubeconfig`.

const kind = await findTool('kind');
const docker = await findTool('docker');
const daemonUp = docker ? (await execTool(docker, ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 })).code === 0 : false;

describe('kind platform up to the node image pull', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authlab-kind-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('cluster/kind.yaml pins the node image by digest and sets subnets apart from the kube platform', async () => {
    const c = await readKindConfig();
    expect(c.name).toBe('authlab');
    expect(c.nodeImage).toMatch(/^kindest\/node:v1\.34\.\d+@sha256:[0-9a-f]{64}$/);
    expect(c.kubernetesVersion).toMatch(/^v1\.34\./);
    expect([c.podSubnet, c.serviceSubnet]).toEqual(['10.245.0.0/16', '10.97.0.0/16']);
    const unpinned = join(dir, 'kind.yaml');
    await writeFile(unpinned, (await readFile(KIND_CONFIG_PATH, 'utf8')).replace(/@sha256:[0-9a-f]{64}/, ''));
    await expect(readKindConfig(unpinned)).rejects.toThrow(/must be pinned as kindest\/node:<version>@sha256:<digest>/);
  });

  it('without a docker daemon (or docker), `study --platform kind` says so in one sentence and exits 2', async () => {
    const noDocker = await runAuthlab(['study', '--platform', 'kind', '--quick'], { PATH: '/nonexistent', HOME: dir, GOPATH: '' });
    expect(noDocker.code).toBe(2);
    expect(noDocker.stderr).toMatch(
      /authlab: `--platform kind` needs Docker and no `docker` is on PATH; install Docker, or target an existing cluster/,
    );
    if (!docker || daemonUp) return; // the next case needs a docker client whose daemon is down
    const noDaemon = await runAuthlab(['study', '--platform', 'kind', '--quick']);
    expect(noDaemon.code).toBe(2);
    expect(noDaemon.stderr).toMatch(/needs a running Docker daemon and `.*docker info` failed \(Cannot connect to the Docker daemon/);
  });

  it.skipIf(!kind || daemonUp)(
    'the real kind takes the config and fails at docker: create and image-archive loading',
    async () => {
      const config = await readKindConfig();
      const kubeconfig = join(dir, 'kubeconfig');
      const cmds = kindCommands(kind!, config, KIND_CONFIG_PATH, kubeconfig);
      expect(shown(cmds.create)).toBe(
        `${kind} create cluster --name authlab --config ${KIND_CONFIG_PATH} --kubeconfig ${kubeconfig} --wait 180s`,
      );
      await expect(runCommand(cmds.create)).rejects.toThrow(
        /`.*kind create cluster .*` failed \(exit 1\): ERROR: failed to create cluster: failed to get docker info/,
      );
      // The same archives the kube platform imports, handed to `kind load image-archive`.
      const images = await componentImages(join(kubeCacheRoot(), 'images'), () => {});
      const lines: string[] = [];
      const loader = kindLoader(cmds.load, (l) => lines.push(l));
      await expect(loader.load([images.idp])).rejects.toThrow(/kind load image-archive .*idp.* --name authlab` failed/);
      expect(lines).toEqual([`$ ${kind} load image-archive ${images.idp.archive} --name authlab`]);
    },
    180_000,
  );
});

const skip = await kubeSkipReason();
if (skip) console.warn(`SKIP test/kind-platform.test.ts (--kubeconfig against the kube cluster): ${skip}`);

describe.skipIf(!!skip)('study --platform kind --kubeconfig <this host’s kube cluster>', () => {
  let unlock: (() => Promise<void>) | undefined;
  let runs: string;
  beforeAll(async () => {
    unlock = await acquireClusterLock();
    runs = await mkdtemp(join(tmpdir(), 'authlab-kind-kubeconfig-'));
    const up = await runAuthlab(['cluster', 'up'], {}, 900_000);
    expect(up.code, up.stderr).toBe(0);
  }, 900_000);
  afterAll(async () => {
    await runAuthlab(['cluster', 'down'], {}, 120_000);
    if (runs) await rm(runs, { recursive: true, force: true });
    await unlock?.();
  }, 130_000);

  it('deploys through the kubeconfig, loads through port-forwards (outbound calls through the Go data plane), records platform kind, and removes its namespaces', async () => {
    const out = join(runs, 'study');
    const r = await runAuthlab(
      [
        'study',
        '--platform',
        'kind',
        '--kubeconfig',
        clusterPaths().kubeconfig,
        '--quick',
        '--scenarios',
        'light',
        '--pairs',
        '2',
        '--data-plane',
        'go',
        '--out',
        out,
      ],
      { AUTHLAB_RUNS_DIR: runs },
      600_000,
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toMatch(/images: ctr images import \(this host's kube cluster\)/);
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as Results;
    expect(results.study.platform).toBe('kind');
    // The sidecar image carried the data plane; every outbound call went through it, port-forwarded.
    expect(results.study.dataPlane).toBe('go');
    expect(results.study.env.kubernetes).toBe('v1.34.4');
    expect(results.runs.length).toBeGreaterThan(0);
    // Every request answered and every run in its mode; the port-forward path (a websocket through the
    // apiserver per connection) is slow, so a run may miss its arrival rate: invalid for latency only.
    expect(results.runs.filter((x) => Object.keys(x.requests.errors).length > 0)).toEqual([]);
    expect(results.runs.filter((x) => !x.valid && x.invalidFor !== 'latency').map((x) => x.invalidReason)).toEqual([]);
    const kc = new KubeConfig();
    kc.loadFromFile(clusterPaths().kubeconfig);
    const names = (await kc.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name);
    expect(names.filter((n) => n === 'authlab-system' || /^p\d+-[ab]$/.test(n ?? ''))).toEqual([]);
  }, 600_000);
});
