import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowedCpus } from '../../../runner/study/pinning.js';
import { pinPids, processTree, serverPinPlan, startBenchStack } from './stack.js';

const affinityOf = async (pid: number) => /Cpus_allowed_list:\s*(\S+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];

describe('bench:sidecar pinning', () => {
  it('puts the server alone on the last CPU, or says why it cannot', () => {
    expect(serverPinPlan([0, 1, 2, 3])).toEqual({ server: [3], rest: [0, 1, 2] });
    expect(serverPinPlan([0, 1])).toEqual({ server: [1], rest: [0] });
    expect(serverPinPlan([0])).toEqual({ reason: 'not pinned: pinning needs at least 2 CPUs and this process may use 1' });
  });

  it.skipIf((allowedCpus()?.length ?? 0) < 2)("finds a process's descendants and pins every one of them", async () => {
    // sh → sleep: the grandchild exists before we look, so the tree must reach two levels down.
    const sh = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
    try {
      let tree: number[] = [];
      for (let i = 0; i < 50 && tree.length < 2; i++) {
        tree = await processTree(sh.pid!);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(tree[0]).toBe(sh.pid);
      expect(tree).toHaveLength(2);
      const cpu = allowedCpus()!.at(-1)!;
      pinPids(tree, [cpu]);
      for (const pid of tree) expect(await affinityOf(pid)).toBe(String(cpu));
      expect(await affinityOf(process.pid)).not.toBe(String(cpu));
    } finally {
      const tree = await processTree(sh.pid!);
      for (const pid of tree.reverse()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});

describe('bench stack', () => {
  it('restarts a sidecar as a new process that keeps its settings, serves, and is stopped by close', async () => {
    const stack = await startBenchStack();
    const query = (url: string) =>
      fetch(`${url}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"light","params":{"id":1}}',
      });
    try {
      const s = await stack.sidecar('p1-a', {});
      await stack.setModes('on', 'enforce', { 'p1-a': { signMode: 'off', verifyMode: 'off' } });
      const before = s.component;
      await s.restart();
      expect(before.exited).toBe(true);
      expect(s.component.pid).not.toBe(before.pid);
      expect(s.component.exited).toBe(false);
      // The new process read its override from the IdP: verify off, so a request without a token is served.
      const status = (await (await fetch(`${s.url}/local/status`)).json()) as { verifyMode: string };
      expect(status.verifyMode).toBe('off');
      expect((await query(s.url)).status).toBe(200);
      // setModes waits for the new process too, which then refuses a request without a token.
      await stack.setModes('on', 'enforce', { 'p1-a': { signMode: 'on', verifyMode: 'enforce' } });
      expect((await query(s.url)).status).toBe(401);
    } finally {
      await stack.close();
    }
  }, 120_000);

  it("keeps a sidecar's token exchange working after its first service-account token expired", async () => {
    // 3-s tokens: the IdP refuses one 5 s (its skew) after it expires, so at 9 s an exchange succeeds
    // only with a token written since. The kubelet-like writer rewrites the file at 80 % of a token's life.
    const stack = await startBenchStack({ saTokenTtlSeconds: 3 });
    try {
      const s = await stack.sidecar('p1-a', {});
      const file = join(stack.dir, 'p1-a', 'token');
      const first = await readFile(file, 'utf8');
      await new Promise((r) => setTimeout(r, 9_000));
      expect(await readFile(file, 'utf8')).not.toBe(first);
      // The running sidecar exchanges again (as it does when its access token is due)...
      const t9 = Math.floor(Date.now() / 1000);
      const refreshed = await fetch(`${s.url}/local/refresh-token`, { method: 'POST' });
      expect(refreshed.status).toBe(200);
      expect(((await refreshed.json()) as { token: { iat: number } }).token.iat).toBeGreaterThanOrEqual(t9);
      // ...and a restarted one exchanges at start-up (restart() waits for /readyz 200).
      await s.restart();
      const status = (await (await fetch(`${s.url}/local/status`)).json()) as { ready: boolean; token: { iat: number } | null };
      expect(status.ready).toBe(true);
      expect(status.token?.iat).toBeGreaterThanOrEqual(t9);
    } finally {
      await stack.close();
    }
  }, 120_000);
});
