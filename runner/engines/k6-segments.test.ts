import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findK6, foldCsv, K6_SCRIPTS_DIR, type Plan } from './k6.js';
import { executionSegments, segmentArgs } from './k6-segments.js';

describe('executionSegments', () => {
  it('splits 0..1 evenly, with one sequence shared by every runner (as k6-operator does)', () => {
    expect(executionSegments(1)).toEqual([{ segment: '0:1', sequence: '0,1' }]);
    expect(executionSegments(3)).toEqual([
      { segment: '0:1/3', sequence: '0,1/3,2/3,1' },
      { segment: '1/3:2/3', sequence: '0,1/3,2/3,1' },
      { segment: '2/3:1', sequence: '0,1/3,2/3,1' },
    ]);
    expect(segmentArgs(executionSegments(1)[0]!, 1)).toEqual([]);
    expect(() => executionSegments(0)).toThrow(RangeError);
  });
});

const k6 = await findK6();
if (!k6) console.warn('SKIP k6-segments.test.ts (real k6): no k6 binary (go install go.k6.io/k6@v1.8.1)');

describe.skipIf(!k6)('two real k6 processes splitting one arrival rate by segment', () => {
  let server: Server;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authlab-k6-seg-'));
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('{"rows":[]}'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  it('each runner delivers its share; folded, the samples are the whole rate in one histogram', async () => {
    const rate = 60;
    const durationS = 3;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/query`;
    const targets = [{ url, bodies: ['{}'], model: 'open', rate, vus: 8, maxVus: 64, durationS, warmupS: 1, count: 0 }];
    const env = { ...process.env, AUTHLAB_TARGETS: JSON.stringify(targets), K6_CSV_TIME_FORMAT: 'unix_micro', K6_NO_USAGE_REPORT: 'true' };
    const segs = executionSegments(2);
    const files = segs.map((_, i) => join(dir, `runner-${i}.csv`));
    await Promise.all(
      segs.map(
        (s, i) =>
          new Promise<void>((resolve, reject) => {
            const args = [
              'run',
              '--quiet',
              '--summary-mode=disabled',
              ...segmentArgs(s, 2),
              '--out',
              `csv=${files[i]}`,
              join(K6_SCRIPTS_DIR, 'generic.ts'),
            ];
            const child = spawn(k6!, args, { env, stdio: 'ignore' });
            child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`k6 runner ${i} exited ${code}`))));
          }),
      ),
    );
    const plan: Plan = { counted: false, model: 'open', warmupS: 1, durationS };
    const [alone0] = await foldCsv([files[0]!], [plan]);
    const [alone1] = await foldCsv([files[1]!], [plan]);
    const [both] = await foldCsv(files, [plan]);
    const whole = rate * durationS;
    // Each half carries half the arrivals; k6 may start or end one iteration either side of a boundary.
    // An arrival k6 could not start (every VU busy: on CI this host also runs a cluster, and a stall of
    // a few hundred ms once cost 5 arrivals with 8 VUs) is still one of the runner's share, counted as
    // dropped; with 64 VUs only a stall of over 2 s drops one.
    for (const half of [alone0!, alone1!]) expect(Math.abs(half.ok + half.droppedIterations - whole / 2)).toBeLessThanOrEqual(2);
    expect(both!.ok).toBe(alone0!.ok + alone1!.ok);
    expect(both!.droppedIterations).toBe(alone0!.droppedIterations + alone1!.droppedIterations);
    expect(both!.latency.totalCount).toBe(both!.ok);
    expect(both!.droppedIterations).toBeLessThanOrEqual(whole * 0.05);
    expect(both!.valid).toBe(both!.droppedIterations === 0); // a dropped arrival invalidates the run
    expect((await readFile(files[0]!, 'utf8')).split('\n')[0]).toMatch(/^metric_name,timestamp,metric_value/);
  }, 60_000);
});
