import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, idle } from './api.js';

describe('admin page calls', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('idle() waits until every call on its way is answered (sign-out ends the session only then)', async () => {
    const answers: ((r: Response) => void)[] = [];
    vi.stubGlobal('fetch', () => new Promise<Response>((r) => answers.push(r)));
    const first = call('GET', '/admin/ui/api/status');
    const second = call('GET', '/admin/ui/platform/services').catch((e: unknown) => e);
    let isIdle = false;
    const waiting = idle().then(() => (isIdle = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(isIdle).toBe(false);
    answers[0]!(new Response('{"revision":1}', { status: 200 }));
    await expect(first).resolves.toEqual({ revision: 1 });
    await new Promise((r) => setTimeout(r, 10));
    expect(isIdle).toBe(false);
    // A refused call counts as answered too.
    answers[1]!(new Response('{"error":{"code":"ERR_X","message":"no"}}', { status: 500 }));
    expect(await second).toMatchObject({ status: 500, code: 'ERR_X' });
    await waiting;
    expect(isIdle).toBe(true);
    await expect(idle()).resolves.toBeUndefined();
  });

  it('idle() gives up waiting after its cap: a call that never ends does not hold sign-out', async () => {
    vi.stubGlobal('fetch', () => new Promise<Response>(() => {}));
    void call('GET', '/admin/ui/platform/services');
    const t0 = performance.now();
    await idle(50);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
