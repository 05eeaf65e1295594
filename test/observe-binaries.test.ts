import { access, constants, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goVersion, observeBinaries, readManifest } from '../cluster/build.js';
import { buildPaths } from '../cluster/paths.js';
import { execTool } from '../cluster/exec.js';

const haveGo = await goVersion().then(
  () => true,
  () => false,
);
if (!haveGo) console.warn('SKIP test/observe-binaries.test.ts: no Go toolchain on PATH');

describe.skipIf(!haveGo)('Prometheus for --observe on a cluster', () => {
  it('is built when missing, with progress, and only it (not the Kubernetes binaries)', async () => {
    // A cache of its own, so the shared one is never touched; GOCACHE stays the real one (a warm
    // build cache relinks in seconds, a cold one takes ≈4.5 min on 2 cores).
    const xdg = await mkdtemp(join(tmpdir(), 'authlab-observe-build-'));
    const env = {
      ...process.env,
      XDG_CACHE_HOME: xdg,
      GOCACHE: process.env.GOCACHE || join(process.env.HOME ?? '/root', '.cache', 'go-build'),
    };
    try {
      const lines: string[] = [];
      const bins = await observeBinaries((l) => lines.push(l), { env });
      expect(lines[0]).toMatch(/^Prometheus prometheus and promtool not built yet; building once into /);
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}built prometheus in /));
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}built promtool in /));
      expect((await readdir(buildPaths(env).bin)).sort()).toEqual(['prometheus', 'promtool']);
      await access(bins.prometheus, constants.X_OK);
      const v = await execTool(bins.prometheus, ['--version'], { env });
      expect(v.stdout + v.stderr).toMatch(/prometheus, version 3\.16\.0/);
      const manifest = await readManifest(buildPaths(env));
      expect(Object.keys(manifest.binaries).sort()).toEqual(['prometheus', 'promtool']);
      // Present now: nothing is built again.
      const again: string[] = [];
      await observeBinaries((l) => again.push(l), { env });
      expect(again).toEqual([]);
    } finally {
      await rm(xdg, { recursive: true, force: true });
    }
  }, 900_000);
});
