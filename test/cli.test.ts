import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertPortsFree } from '../runner/platforms/local/ports.js';
import type { EndpointsFile } from '../system/protocol/endpoints.js';
import { runAuthlab, startUp } from './support/cli.js';

let runs: string;
beforeAll(async () => {
  runs = await mkdtemp(join(tmpdir(), 'authlab-cli-test-'));
});
afterAll(async () => {
  await rm(runs, { recursive: true, force: true });
});
const env = () => ({ AUTHLAB_RUNS_DIR: runs });

/** One line on stderr, starting with `authlab:`, and nothing like a stack trace. */
function expectOneSentence(stderr: string, fragment: string | RegExp) {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^authlab: /);
  expect(lines[0]).toMatch(fragment);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('authlab CLI: bad input gets one sentence and exit code 2', () => {
  it.each([
    [['study', '--rate', 'abc'], "`--rate` must be a positive integer (got 'abc')"],
    [['study', '--pairs', '0'], "`--pairs` must be an integer from 1 to 32 (got '0')"],
    [['study', '--duration', 'soon'], "`--duration` must be a positive duration such as 30s, 2m or 500ms (got 'soon')"],
    [['study', '--design', 'random'], "`--design` must be 'interleaved' or 'sequential' (got 'random')"],
    [['study', '--engine', 'wrk'], "`--engine` must be 'autocannon' or 'k6' (got 'wrk')"],
    [['study', '--scenarios', 'light,,Heavy'], '`--scenarios` must be a comma-separated list'],
    [['study', '--frobnicate'], "unknown flag '--frobnicate' for `authlab study`"],
    [['study', '--rate'], '`--rate` needs a value'],
    [['up', '--quick'], "unknown flag '--quick' for `authlab up`"],
    [['launch'], "unknown command 'launch'"],
    [['study', '--keep-cluster'], '`--keep-cluster` applies to `--platform kind` only (got --platform local)'],
    [['up', '--platform', 'kube', '--kubeconfig', 'k.yaml'], '`--kubeconfig` applies to `--platform kind` only (got --platform kube)'],
    [
      ['study', '--platform', 'kind', '--kubeconfig', '/nonexistent/kubeconfig'],
      "`--kubeconfig` must be a readable kubeconfig file (cannot read '/nonexistent/kubeconfig')",
    ],
    [['compare', 'a.json', 'b.json', '--relative-to', 'on'], "`--relative-to` must be 'direct', 'off', 'observe' or 'enforce' (got 'on')"],
    [['report', '--bogus'], "unknown flag '--bogus' for `authlab report`; see `authlab report --help` for the flags it takes"],
    [['report', 'a.json', 'b.json'], '`authlab report` takes exactly one results.json path (got 2)'],
    [['compare', 'a.json'], '`authlab compare` takes two results.json paths, base then new (got 1)'],
    [['down', 'now'], '`authlab down` takes no positional argument'],
  ])('authlab %j', async (args, message) => {
    const r = await runAuthlab(args, env());
    expect(r.code).toBe(2);
    expectOneSentence(r.stderr, new RegExp(escape(message)));
  });

  it('asks for k6 by name when `--engine k6` is given and k6 is not on PATH', async () => {
    const r = await runAuthlab(['study', '--engine', 'k6', '--quick'], {
      ...env(),
      PATH: '/nonexistent',
      HOME: runs,
      K6_BIN: '',
      GOPATH: '',
    });
    expect(r.code).toBe(2);
    expectOneSentence(r.stderr, /`--engine k6` needs the k6 binary on PATH.*install it.*or use `--engine autocannon`/);
  });

  it('prints usage with every command and exit 0 for --help', async () => {
    const r = await runAuthlab(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['study', 'up', 'down', 'report', 'compare', '--quick', '--pairs', '--engine', '--duration', '--seed'])
      expect(r.stdout).toContain(word);
  });

  it.each(['study', 'up', 'down', 'report', 'compare'])("`authlab %s --help` prints that command's usage and exits 0", async (command) => {
    const r = await runAuthlab([command, '--help'], env());
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^Usage: authlab ${command}\\b`));
    expect(r.stdout).toContain('Exit codes:');
  });

  it('refuses a second `up` while one runs, naming its pid and `authlab down`', async () => {
    const dir = join(runs, 'second-up');
    await mkdir(join(dir, 'up'), { recursive: true });
    // A live process whose command line names authlab stands in for a running `authlab up`.
    const standIn = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'authlab-up-stand-in'], { stdio: 'ignore' });
    try {
      await writeFile(
        join(dir, 'up', 'state.json'),
        JSON.stringify({ pid: standIn.pid, startedAt: new Date().toISOString(), status: 'ready', pairs: 4 }),
      );
      const r = await runAuthlab(['up', '--pairs', '1'], { AUTHLAB_RUNS_DIR: dir });
      expect(r.code).toBe(2);
      expectOneSentence(r.stderr, new RegExp(`authlab up is already running \\(pid ${standIn.pid}.*\`authlab down\``));
    } finally {
      standIn.kill();
    }
  });

  it('ignores a stale state file whose pid now belongs to another program', async () => {
    const dir = join(runs, 'stale-up');
    await mkdir(join(dir, 'up'), { recursive: true });
    // This vitest worker is alive but is not authlab: `down` must not signal it.
    await writeFile(
      join(dir, 'up', 'state.json'),
      JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), status: 'ready', pairs: 4 }),
    );
    const r = await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: dir });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(
      `authlab up (pid ${process.pid}) was no longer running; found no leftover process, removed its state file`,
    );
    expect(await readdir(join(dir, 'up'))).toEqual([]);
  });

  it('says which port is busy and exits 2 without leaving a temporary directory', async () => {
    // The busy port is the third of the block (the IdP's): the check must cover the whole block. The
    // block is below the ephemeral range, so no other test's connection or listener lands on its other
    // ports meanwhile (one did, on CI, and the CLI rightly named that port instead).
    const { server, base } = await holdThirdOfFreeBlock();
    const port = base + 2;
    try {
      const r = await runAuthlab(['up', '--pairs', '1', '--base-port', String(base)], { AUTHLAB_RUNS_DIR: join(runs, 'busy') });
      expect(r.code).toBe(2);
      const last = r.stderr.trim().split('\n').at(-1)!;
      expect(last).toMatch(new RegExp(`^authlab: port ${port} on 127\\.0\\.0\\.1 is already in use; free it or pick another --base-port`));
      expect(await readdir(join(runs, 'busy', 'up'))).toEqual([]);
      // The ports are checked before anything is created: no work dir was ever made.
      expect(r.stderr).not.toContain('work dir');
    } finally {
      await new Promise((res) => server.close(res));
    }
  });

  it('`down` with nothing running says so and exits 0', async () => {
    const r = await runAuthlab(['down'], { AUTHLAB_RUNS_DIR: join(runs, 'nothing') });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/not running.*nothing to stop/);
  });
});

/** Listens on the third port of a 5-port block in 20000–32767 whose other four ports are free. */
async function holdThirdOfFreeBlock(): Promise<{ server: Server; base: number }> {
  const listen = (port: number) =>
    new Promise<Server | null>((res) => {
      const s = createServer();
      s.once('error', () => res(null));
      s.listen(port, '127.0.0.1', () => res(s));
    });
  const close = (s: Server) => new Promise((res) => s.close(res));
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 5 * Math.floor(Math.random() * 2_500);
    const held = await listen(base + 2);
    if (!held) continue;
    // The same bind check the CLI makes, on the block's other four ports.
    const free = await assertPortsFree([base, base + 1, base + 3, base + 4], '').then(
      () => true,
      () => false,
    );
    if (free) return { server: held, base };
    await close(held);
  }
  throw new Error('no free 5-port block in 20000–32767');
}

function escape(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('--data-plane: auto (the default) runs the Node sidecar where Go cannot build the data plane; go refuses', () => {
  const noGo = () => ({ AUTHLAB_RUNS_DIR: join(runs, 'no-go'), GO_BIN: '/nonexistent/go' });

  it('`--data-plane go` without a Go toolchain exits 2 with one sentence, before anything is provisioned', async () => {
    const r = await runAuthlab(['study', '--quick', '--data-plane', 'go'], noGo());
    expect(r.code).toBe(2);
    expectOneSentence(
      r.stderr,
      /--data-plane go builds the Go data plane and the IdP's token plane, which failed: no Go toolchain on PATH \(go\); install Go 1\.26 or use --data-plane node/,
    );
  });

  it('`up` without a Go toolchain says so in one line, serves outbound calls from the Node sidecar, and `down` stops it', async () => {
    const { up, stderr, exit, ready } = startUp(['up', '--pairs', '1'], noGo());
    try {
      await ready;
      expect(stderr()).toContain(
        'data plane: the Node sidecar serves outbound calls, as the Go data plane could not be built (no Go toolchain on PATH (go)); install Go 1.26 for it, or pass --data-plane node to skip the build',
      );
      const endpoints = JSON.parse(await readFile(join(runs, 'no-go', 'up', 'endpoints.json'), 'utf8')) as EndpointsFile;
      expect(endpoints.services.map((s) => s.dataPlaneUrl)).toEqual([undefined, undefined]);
      const a = endpoints.services.find((s) => s.name === 'p1-a')!;
      const call = await fetch(`${a.url}/call/p1-b/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"light"}',
      });
      expect(call.status).toBe(200);
      expect((await runAuthlab(['down'], noGo())).code).toBe(0);
      expect(await exit).toBe(0);
    } finally {
      if (up.exitCode === null) {
        up.kill('SIGTERM');
        await exit;
      }
    }
  }, 90_000);
});
