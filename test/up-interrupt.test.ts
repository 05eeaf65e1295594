import { stat } from 'node:fs/promises';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alivePids, descendantPids, startAuthlab } from './support/cli.js';

let runs: string;
beforeAll(async () => {
  runs = await mkdtemp(join(tmpdir(), 'authlab-upint-test-'));
});
afterAll(() => rm(runs, { recursive: true, force: true }));

describe('Ctrl-C during `authlab up` start-up', () => {
  it('stops what was started, removes the work dir and the state file, and exits 130', async () => {
    const up = startAuthlab(['up', '--pairs', '1'], { AUTHLAB_RUNS_DIR: runs });
    const exit = new Promise<number | null>((res) => up.on('exit', (code) => res(code)));
    let workDir = '';
    let children: number[] = [];
    await new Promise<void>((res, rej) => {
      createInterface({ input: up.stderr! }).on('line', (line) => {
        workDir ||= /work dir (\S+)/.exec(line)?.[1] ?? '';
        // PostgreSQL and the identity issuer are running once PostgreSQL is ready: interrupt there.
        if (line.includes('postgres ready')) {
          void descendantPids(up.pid!).then((pids) => {
            children = pids;
            up.kill('SIGINT');
            res();
          });
        }
      });
      up.on('exit', (code) => rej(new Error(`exited early with ${code}`)));
    });
    expect(await exit).toBe(130);
    expect(children.length).toBeGreaterThanOrEqual(2); // postgres + identity (at least)
    expect(await alivePids(children)).toEqual([]);
    expect(workDir).toMatch(/authlab-local-/);
    await expect(stat(workDir)).rejects.toThrow(/ENOENT/);
    expect(await readdir(join(runs, 'up'))).toEqual([]);
  });
});
