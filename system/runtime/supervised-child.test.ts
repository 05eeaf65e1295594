import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSupervisedChild } from './supervised-child.js';

const dir = mkdtempSync(join(tmpdir(), 'authlab-supervised-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A child that says where it listens (its control "URL" names its pid) and then only lives. */
const binary = join(dir, 'child.sh');
writeFileSync(
  binary,
  `#!/bin/sh\necho "{\\"event\\":\\"listening\\",\\"url\\":\\"http://127.0.0.1:$PORT\\",\\"control\\":\\"pid-$$\\"}"\nexec sleep 60\n`,
);
chmodSync(binary, 0o755);

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (const deadline = Date.now() + ms; !cond();) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a supervised child', () => {
  it('is down from its exit until its restart holds the state, and counts the restart only then', async () => {
    const primed: string[] = [];
    let release: () => void = () => {};
    const sup = await startSupervisedChild({
      name: 'test child',
      binary,
      env: {},
      port: 45_123,
      // The first prime answers at once; the restart's waits until the test lets it.
      prime: (control) => {
        primed.push(control);
        return primed.length === 1 ? Promise.resolve() : new Promise<void>((r) => (release = r));
      },
      log: () => {},
    });
    try {
      const first = sup.pid!;
      expect(sup.up()).toBe(true);
      process.kill(first, 'SIGKILL');
      await until(() => primed.length === 2);
      // Started, on the same address, and being primed: not up, no pid, not yet a restart.
      expect(primed[1]).not.toBe(primed[0]);
      expect(sup.url).toBe('http://127.0.0.1:45123');
      expect(sup.up()).toBe(false);
      expect(sup.pid).toBeUndefined();
      expect(sup.restarts()).toBe(0);
      release();
      await until(() => sup.up());
      expect(sup.restarts()).toBe(1);
      expect(sup.pid).not.toBe(first);
      expect(sup.control()).toBe(primed[1]);
    } finally {
      release(); // a failed assertion above leaves the restart waiting: stop() waits for it
      const last = sup.pid;
      await sup.stop();
      if (last !== undefined) expect(() => process.kill(last, 0)).toThrow();
    }
  });
});
