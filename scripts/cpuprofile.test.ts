import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { selfTimes } from './cpuprofile.js';

const dir = await mkdtemp(join(tmpdir(), 'authlab-cpuprofile-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

it("sums each sample's time into its function and its package, and keeps idle time apart", async () => {
  const frame = (functionName: string, url: string, lineNumber: number) => ({
    functionName,
    url,
    lineNumber,
    scriptId: '0',
    columnNumber: 0,
  });
  const file = join(dir, 'p.cpuprofile');
  await writeFile(
    file,
    JSON.stringify({
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), children: [2, 3, 4, 5] },
        { id: 2, callFrame: frame('(idle)', '', -1) },
        { id: 3, callFrame: frame('parse', 'file:///x/node_modules/fastify/lib/route.js', 9) },
        { id: 4, callFrame: frame('verify', 'file:///work/main/system/sidecar/verify/verifier.ts', 41) },
        { id: 5, callFrame: frame('writev', '', -1) },
      ],
      startTime: 0,
      endTime: 100,
      samples: [2, 3, 4, 3, 5, 2],
      timeDeltas: [30, 5, 7, 11, 13, 17],
    }),
  );
  const t = await selfTimes(file);
  expect(t.idle).toBe(47);
  expect(t.busy).toBe(36);
  expect(Object.fromEntries(t.pkgs)).toEqual({ fastify: 16, 'system/sidecar/verify/verifier.ts': 7, writev: 13 });
  expect(t.fns.get('parse  fastify:10')).toBe(16);
  expect(t.fns.get('verify  system/sidecar/verify/verifier.ts:42')).toBe(7);
});
