import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../runner/platforms/local/index.js';
import { createLiveSeries, startObservation, teeProgress, type Observation } from '../runner/live/observe.js';
import { findTool } from '../runner/live/prometheus.js';
import { runStudy } from '../runner/study/run-study.js';
import { discoverScenarios, selectScenarios } from '../runner/study/scenarios.js';
import { REPO_ROOT } from '../runner/platforms/local/paths.js';
import { panelProblem, panelQueries } from './support/panels.js';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const promtool = findTool('promtool');
const ready = promtool !== null && findTool('prometheus') !== null;
if (!ready) console.warn("live/observe test skipped: Debian's prometheus is missing (apt-get install -y prometheus)");
const haveChromium = existsSync(CHROMIUM);

/** Instant query against the real Prometheus HTTP API. */
async function query(url: string, promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status, promql).toBe('success');
  return body.data.result;
}

/**
 * A short study with the live series, the live page and a real Prometheus: what a user of `--observe`
 * sees while the study runs, and what Prometheus holds afterwards.
 */
describe.skipIf(!ready)('study --observe on the local platform', () => {
  let platform: LocalPlatform;
  let observation: Observation;
  let browser: Browser | undefined;
  const pageFindings = { consoleErrors: [] as string[], foreignRequests: [] as string[], frames: [] as string[] };

  beforeAll(async () => {
    platform = await startLocalPlatform({ pairs: 2 });
    const live = createLiveSeries();
    observation = await startObservation({ live, endpoints: platform.endpoints, prometheus: true, postgresStats: true });
    let watching: Promise<void> = Promise.resolve();
    // Frames are taken once the first trial runs: the harness floor and the priming before it send no
    // live series, so frames from then would all be the same empty picture.
    let trialStarted!: () => void;
    const firstTrial = new Promise<void>((r) => (trialStarted = r));
    if (haveChromium) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('console', (m) => m.type() === 'error' && pageFindings.consoleErrors.push(m.text()));
      page.on('pageerror', (e) => pageFindings.consoleErrors.push(e.message));
      page.on('request', (r) => !r.url().startsWith('http://127.0.0.1:') && pageFindings.foreignRequests.push(r.url()));
      await page.goto(`${observation.server.url}/`);
      // Chart data a few seconds apart while the load runs: the picture must move.
      watching = (async () => {
        await firstTrial;
        for (let i = 0; i < 4; i++) {
          await page.waitForTimeout(3000);
          pageFindings.frames.push(
            await page.evaluate(() =>
              JSON.stringify(
                ['chart-p50', 'chart-rps'].map((id) => {
                  const c = (globalThis as unknown as { Chart: { getChart(id: string): { data: unknown } } }).Chart.getChart(id);
                  return c?.data;
                }),
              ),
            ),
          );
        }
        const dir = join(REPO_ROOT, 'runs', 'ci-artifacts', 'live');
        await mkdir(dir, { recursive: true });
        await page.screenshot({ path: join(dir, 'live-page.png'), fullPage: true });
      })();
    }
    const noop = { phase: () => {}, trial: () => trialStarted(), log: () => {} };
    await runStudy(
      {
        engine: 'autocannon',
        // The quick token storm too, so the dashboard's storm panel is checked against real data.
        scenarios: selectScenarios(await discoverScenarios(), ['light', 'token-storm'], true, 'autocannon'),
        quick: true,
        trials: 4,
        durationS: 2,
        design: 'interleaved',
        seed: 5,
        pairs: 2,
        live,
      },
      platform,
      teeProgress(noop, live),
    );
    await watching;
    // Two more scrapes after the last response, so every series has its final sample.
    await new Promise((r) => setTimeout(r, 2500));
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await observation?.close();
    await platform?.close();
  });

  it('writes a Prometheus config that promtool accepts', async () => {
    const { stdout, stderr } = await run(promtool!, ['check', 'config', join(observation.prometheus!.dir, 'prometheus.yml')]);
    expect(stdout + stderr).toMatch(/SUCCESS/);
    expect(stdout + stderr).not.toMatch(/FAILED|WARNING/);
  });

  it("every component's /metrics and the runner's pass promtool check metrics", async () => {
    const urls = [platform.endpoints.idp.url, ...platform.endpoints.services.map((s) => s.url), observation.server.url];
    for (const url of urls) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const child = execFile(promtool!, ['check', 'metrics']);
      const out: string[] = [];
      child.stdout?.on('data', (d) => out.push(String(d)));
      child.stderr?.on('data', (d) => out.push(String(d)));
      child.stdin!.end(text);
      const code = await new Promise((r) => child.on('close', r));
      expect({ url, code, out: out.join('') }).toEqual({ url, code: 0, out: '' });
    }
  });

  it('Prometheus scraped every target and holds the live series with their labels', async () => {
    const url = observation.prometheus!.url;
    const up = await query(url, 'up');
    expect(up.length).toBe(1 + 4 + 1);
    expect(up.every((s) => s.value[1] === '1')).toBe(true);
    const sidecars = await query(url, 'up{job="authlab-sidecar"}');
    expect(sidecars.map((s) => `${s.metric.service}/${s.metric.pair}`).sort()).toEqual(['p1-a/1', 'p1-b/1', 'p2-a/2', 'p2-b/2']);
    const p50 = await query(
      url,
      'histogram_quantile(0.5, sum by (mode, le) (increase(authlab_load_latency_seconds_bucket{scenario="light"}[5m])))',
    );
    expect(p50.map((s) => s.metric.mode).sort()).toEqual(['direct', 'enforce', 'observe', 'off']);
    for (const s of p50) expect(Number(s.value[1])).toBeGreaterThan(0);
    const sizes = await query(url, 'authlab_pg_database_bytes');
    expect(sizes.map((s) => s.metric.service).sort()).toEqual(['idp', 'p1-a', 'p1-b', 'p2-a', 'p2-b']);
    const tables = await query(url, 'authlab_pg_table_bytes{service="idp"}');
    expect(tables.length).toBeGreaterThan(0);
    const conns = await query(url, 'sum by (service) (authlab_pg_connections{service=~"p.*"})');
    expect(conns.every((s) => Number(s.value[1]) > 0)).toBe(true);
  });

  it("every panel's PromQL, variables set to All, answers with the labels its legend names", async () => {
    const url = observation.prometheus!.url;
    let checked = 0;
    for (const q of panelQueries()) {
      expect(await panelProblem(url, q)).toBeUndefined();
      checked++;
    }
    expect(checked).toBe(panelQueries().length);
    expect(checked).toBeGreaterThanOrEqual(13);
  });

  it.skipIf(!haveChromium)('the live page moves while the study runs, with no console error and no request off 127.0.0.1', () => {
    expect(pageFindings.consoleErrors).toEqual([]);
    expect(pageFindings.foreignRequests).toEqual([]);
    expect(pageFindings.frames.length).toBe(4);
    expect(new Set(pageFindings.frames).size).toBeGreaterThan(1);
    expect(pageFindings.frames.at(-1)).toMatch(/"label":"enforce"/);
    expect(existsSync(join(REPO_ROOT, 'runs', 'ci-artifacts', 'live', 'live-page.png'))).toBe(true);
  });
});
