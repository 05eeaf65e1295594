import { describe, expect, it } from 'vitest';
import { runAuthlab } from './support/cli.js';
import { acquireClusterLock } from './support/kube.js';

// `authlab cluster` mistakes and missing prerequisites: one sentence that says what to do, exit 2.
const oneSentence = (stderr: string) => expect(stderr.trim().split('\n')).toHaveLength(1);

describe('authlab cluster: bad input', () => {
  it('an unknown subcommand or a misplaced flag', async () => {
    const r = await runAuthlab(['cluster', 'start']);
    expect(r.code).toBe(2);
    oneSentence(r.stderr);
    expect(r.stderr).toMatch(/unknown command 'start'; use build, up, status or down/);
    const f = await runAuthlab(['cluster', 'up', '--force']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/`--force` only applies to `authlab cluster build`/);
  });

  it('building without a Go toolchain says how to get one', async () => {
    const r = await runAuthlab(['cluster', 'build'], { PATH: '/nonexistent' });
    expect(r.code).toBe(2);
    oneSentence(r.stderr);
    expect(r.stderr).toMatch(/needs the Go toolchain .* on PATH and none was found; install Go/);
  });

  it('up without root or without containerd says which, and what to install', async () => {
    const r = await runAuthlab(['cluster', 'up'], { PATH: '/nonexistent' });
    expect(r.code).toBe(2);
    oneSentence(r.stderr);
    if (process.getuid?.() === 0) expect(r.stderr).toMatch(/needs containerd, ctr.* missing; install with `apt-get install -y containerd/);
    else expect(r.stderr).toMatch(/must run as root/);
  });

  it('status with no cluster is not an error', async () => {
    // Another kube test file may hold this host's one cluster: wait for it (as root, where they run).
    const unlock = process.getuid?.() === 0 ? await acquireClusterLock() : undefined;
    try {
      const s = await runAuthlab(['cluster', 'status']);
      expect(s.code).toBe(0);
      expect(s.stdout).toMatch(/no cluster is up/);
    } finally {
      await unlock?.();
    }
  }, 900_000);
});
