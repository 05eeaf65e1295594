import { afterEach, describe, expect, it, vi } from 'vitest';

async function load(env: string | undefined): Promise<typeof import('./calibrate.js')> {
  vi.resetModules();
  if (env === undefined) vi.stubEnv('AUTHLAB_CALIBRATE_US', '');
  else vi.stubEnv('AUTHLAB_CALIBRATE_US', env);
  return import('./calibrate.js');
}

const timed = (f: () => void): number => {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) * 1000;
};

describe('calibrationWait (test hook)', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('busy-waits the configured µs in enforce only', async () => {
    const { calibrationWait } = await load('2000');
    expect(timed(() => calibrationWait('enforce'))).toBeGreaterThanOrEqual(2000);
    expect(timed(() => calibrationWait('observe'))).toBeLessThan(1000);
    expect(timed(() => calibrationWait('off'))).toBeLessThan(1000);
  });

  it('is off by default and for nonsense values', async () => {
    for (const env of [undefined, '0', 'abc', '-5']) {
      const { calibrationWait } = await load(env);
      expect(timed(() => calibrationWait('enforce'))).toBeLessThan(1000);
    }
  });
});
