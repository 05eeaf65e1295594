import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../runner/cli/io.js';
import { runCli } from '../runner/cli/run.js';
import { buildSampleResults } from './fixtures/make-fixture.js';

function collector(): CliIo & { text: string; errText: string } {
  const c = { text: '', errText: '', out: (l: string) => void (c.text += `${l}\n`), err: (l: string) => void (c.errText += `${l}\n`) };
  return c;
}

/** `authlab report <argv>` in-process, as the CLI runs it. */
const reportCommand = (argv: string[], io: CliIo) => runCli(['report', ...argv], io);
const compareCommand = (argv: string[], io: CliIo) => runCli(['compare', ...argv], io);

/** One sentence on one line, starting with `authlab:`, no stack trace. */
function expectOneSentence(err: string): void {
  expect(err.trim().split('\n')).toHaveLength(1);
  expect(err).toMatch(/^authlab: /);
  expect(err).not.toMatch(/\bat .+:\d+:\d+/);
}

describe('authlab report / compare commands', () => {
  let dir: string;
  let basePath: string;
  let samePath: string;
  let slowerPath: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'authlab-report-cli-'));
    const write = (name: string, data: unknown): string => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify(data));
      return p;
    };
    const opts = { noInvalid: true, scenarios: ['light'] };
    basePath = write('base.json', buildSampleResults({ seed: 1, ...opts }));
    samePath = write('same.json', buildSampleResults({ seed: 2, ...opts }));
    slowerPath = write('slower.json', buildSampleResults({ seed: 2, ...opts, extraUs: { light: { enforce: 150 } } }));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('report writes report.html and summary.md next to results.json', async () => {
    const io = collector();
    expect(await reportCommand([basePath], io)).toBe(0);
    expect(io.errText).toBe('');
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    const md = readFileSync(join(dir, 'summary.md'), 'utf8');
    expect(io.text).toContain(join(dir, 'report.html'));
    expect(html).toContain('<canvas');
    // Self-contained: no external script, stylesheet, image or font.
    expect(html).not.toMatch(/<(script|img|iframe)[^>]+src=|<link[^>]+href=|@import|url\(http/i);
    expect(md).toMatch(/\| light \| auth overhead \(enforce − off\) \| p50 \| \+\d+ µs \|/);
  });

  it('report --out writes elsewhere', async () => {
    const out = join(dir, 'elsewhere');
    expect(await reportCommand([basePath, '--out', out], collector())).toBe(0);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    expect(existsSync(join(out, 'summary.md'))).toBe(true);
  });

  it('compare exits 0 for the same system and 1 for a regression', async () => {
    const ok = collector();
    expect(await compareCommand([basePath, samePath], ok)).toBe(0);
    expect(ok.text).toContain('No significant regression');
    const bad = collector();
    expect(await compareCommand([basePath, slowerPath], bad)).toBe(1);
    expect(bad.text).toContain('REGRESSED (beyond threshold)');
    const lenient = collector();
    expect(await compareCommand([basePath, slowerPath, '--threshold-us', '500'], lenient)).toBe(0);
    expect(await compareCommand([basePath, slowerPath, '--threshold-pct=50'], collector())).toBe(0);
  });

  it('compare says when the two studies were set up differently (data plane, engine, host), and nothing when they match', async () => {
    const same = collector();
    await compareCommand([basePath, samePath], same);
    expect(same.text).not.toContain('set up differently');
    const other = buildSampleResults({ seed: 2, noInvalid: true, scenarios: ['light'] });
    other.study.dataPlane = 'go';
    other.study.engine = 'k6';
    other.study.env = { ...other.study.env, cpus: other.study.env.cpus + 2 };
    const otherPath = join(dir, 'other.json');
    writeFileSync(otherPath, JSON.stringify(other));
    const io = collector();
    expect(await compareCommand([basePath, otherPath], io)).toBe(0); // a note, not a failure
    const base = JSON.parse(readFileSync(basePath, 'utf8')) as typeof other;
    expect(io.text).toContain(
      `The two studies were set up differently (load engine ${base.study.engine} → k6; outbound calls Node sidecar → Go data plane; ` +
        `host ${base.study.env.cpus} CPUs, ${base.study.env.cpuModel} → ${base.study.env.cpus + 2} CPUs, ${base.study.env.cpuModel}): ` +
        'a difference above may come from that, not from the code.',
    );
  });

  it.each([
    ['a missing file', () => [join(dir, 'nope.json'), basePath], /nope\.json does not exist/],
    ['no arguments', () => [], /`authlab compare` takes two results\.json paths, base then new \(got 0\)/],
    [
      'a bad threshold',
      () => [basePath, samePath, '--threshold-pct', 'abc'],
      /`--threshold-pct` must be a non-negative number \(got 'abc'\)/,
    ],
    [
      'a negative threshold',
      () => [basePath, samePath, '--threshold-us', '-1'],
      /`--threshold-us` must be a non-negative number \(got '-1'\)/,
    ],
    [
      'an unknown option',
      () => [basePath, samePath, '--fast'],
      /unknown flag '--fast' for `authlab compare`; see `authlab compare --help`/,
    ],
    ['a bad --stats', () => [basePath, samePath, '--stats', 'p75'], /`--stats` takes p50 and\/or p99/],
  ])('compare with %s exits 2 with one sentence', async (_name, args, message) => {
    const io = collector();
    expect(await compareCommand(args(), io)).toBe(2);
    expect(io.errText).toMatch(message);
    expectOneSentence(io.errText);
    expect(io.text).toBe('');
  });

  it('rejects invalid JSON, a wrong schemaVersion and a malformed run with a stable, actionable message', async () => {
    const badDir = mkdtempSync(join(dir, 'bad-'));
    const notJson = join(badDir, 'broken.json');
    writeFileSync(notJson, '{"schemaVersion": 1, "runs": [');
    const v2 = join(badDir, 'v2.json');
    writeFileSync(v2, JSON.stringify({ ...JSON.parse(readFileSync(basePath, 'utf8')), schemaVersion: 2 }));
    const badRun = join(badDir, 'bad-run.json');
    const data = JSON.parse(readFileSync(basePath, 'utf8'));
    data.runs[3].latencyUs.p50 = 'fast';
    writeFileSync(badRun, JSON.stringify(data));

    const cases: [string, RegExp][] = [
      [notJson, /broken\.json is not valid JSON/],
      [v2, /schemaVersion 2 but this authlab reads schemaVersion 1/],
      [badRun, /at \/runs\/3\/latencyUs\/p50, expected number/],
    ];
    for (const [path, message] of cases) {
      const io = collector();
      expect(await reportCommand([path], io)).toBe(2);
      expect(io.errText).toMatch(message);
      expectOneSentence(io.errText);
    }
    // Nothing half-written next to the bad inputs.
    expect(existsSync(join(badDir, 'report.html'))).toBe(false);
    expect(existsSync(join(badDir, 'summary.md'))).toBe(false);
  });

  it('report without a path exits 2', async () => {
    const io = collector();
    expect(await reportCommand([], io)).toBe(2);
    expect(io.errText).toMatch(/`authlab report` takes exactly one results\.json path \(got 0\)/);
    expectOneSentence(io.errText);
  });
});
