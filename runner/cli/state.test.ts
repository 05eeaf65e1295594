import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readState, updateUpState, upPaths, type UpState } from './state.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('updateUpState', () => {
  it('never lets a reader see a half-written state, and the last update wins', async () => {
    dir = await mkdtemp(join(tmpdir(), 'authlab-state-'));
    await mkdir(join(dir, 'up'));
    const base: UpState = { pid: process.pid, startedAt: new Date().toISOString(), status: 'ready', pairs: 4 };
    // A large state (many events) makes a non-atomic write observable as truncated JSON.
    const events = Array.from({ length: 2_000 }, (_, i) => ({
      at: new Date().toISOString(),
      component: `c${i}`,
      kind: 'exited',
      detail: 'x'.repeat(40),
    }));
    await updateUpState(dir, { ...base, events: events as never });
    const writes = Array.from({ length: 40 }, (_, i) => updateUpState(dir!, { ...base, pairs: i, events: events as never }));
    let reads = 0;
    let unreadable = 0;
    // Four readers in parallel, as `authlab status` and `down` may read at any moment.
    const reader = async () => {
      for (let i = 0; i < 100; i++) {
        reads++;
        if (!(await readState(upPaths(dir!).state))) unreadable++;
      }
    };
    await Promise.all([...writes, reader(), reader(), reader(), reader()]);
    expect(reads).toBe(400);
    expect(unreadable).toBe(0);
    expect((await readState(upPaths(dir).state))?.pairs).toBe(39);
    // No temp file is left behind.
    expect(await readdir(join(dir, 'up'))).toEqual(['state.json']);
  });
});
