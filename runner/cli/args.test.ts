import { describe, expect, it } from 'vitest';
import { parseCli, parseDurationS } from './args.js';
import { UsageError } from '../../system/protocol/errors.js';
import { COMMAND_USAGE, USAGE } from './usage.js';

describe('parseCli', () => {
  it('turns a full study command line into typed options', () => {
    expect(
      parseCli([
        'study',
        '--engine',
        'k6',
        '--scenarios',
        'light,heavy,light',
        '--quick',
        '--pairs',
        '2',
        '--trials',
        '5',
        '--duration',
        '1.5m',
        '--rate',
        '250',
        '--out',
        'x',
        '--design',
        'sequential',
        '--seed',
        '0',
        '--base-port',
        '7000',
      ]),
    ).toEqual({
      command: 'study',
      platform: 'local',
      engine: 'k6',
      scenarios: ['light', 'heavy'],
      quick: true,
      pairs: 2,
      trials: 5,
      durationS: 90,
      rate: 250,
      out: 'x',
      design: 'sequential',
      seed: 0,
      basePort: 7000,
      calibrateUs: undefined,
      dataPlane: 'auto',
      aa: false,
      observe: false,
      livePort: undefined,
    });
  });

  it('takes --data-plane auto, node or go on every platform, for study and up; auto when not given', () => {
    expect(parseCli(['study', '--data-plane', 'go'])).toMatchObject({ platform: 'local', dataPlane: 'go' });
    expect(parseCli(['study', '--platform', 'kind', '--data-plane', 'node'])).toMatchObject({ dataPlane: 'node' });
    expect(parseCli(['study', '--platform', 'kube', '--data-plane', 'go'])).toMatchObject({ platform: 'kube', dataPlane: 'go' });
    expect(parseCli(['up', '--platform', 'kind', '--data-plane', 'go'])).toMatchObject({
      command: 'up',
      platform: 'kind',
      dataPlane: 'go',
    });
    expect(parseCli(['up'])).toMatchObject({ command: 'up', dataPlane: 'auto' });
    expect(parseCli(['study'])).toMatchObject({ command: 'study', dataPlane: 'auto' });
    expect(parseCli(['study', '--data-plane', 'node'])).toMatchObject({ dataPlane: 'node' });
    for (const command of ['study', 'up'])
      expect(() => parseCli([command, '--data-plane', 'envoy'])).toThrow(
        new UsageError("`--data-plane` must be 'auto', 'node' or 'go' (got 'envoy')"),
      );
  });

  it('takes --calibrate <µs> and --aa, one at a time', () => {
    expect(parseCli(['study', '--quick', '--calibrate', '50'])).toMatchObject({ calibrateUs: 50, aa: false });
    expect(parseCli(['study', '--aa'])).toMatchObject({ calibrateUs: undefined, aa: true });
    expect(() => parseCli(['study', '--calibrate', '0'])).toThrow(/`--calibrate` must be an integer from 1 to 100000 \(got '0'\)/);
    expect(() => parseCli(['study', '--calibrate', '50', '--aa'])).toThrow(/exclude each other/);
  });

  it('applies the documented defaults', () => {
    expect(parseCli(['study'])).toMatchObject({
      platform: 'local',
      engine: 'autocannon',
      scenarios: [],
      quick: false,
      pairs: 4,
      design: 'interleaved',
    });
    expect(parseCli(['up'])).toEqual({
      command: 'up',
      platform: 'local',
      pairs: 4,
      basePort: undefined,
      restart: 'on-failure',
      redis: false,
      observe: false,
      livePort: undefined,
      dataPlane: 'auto',
    });
    expect(parseCli(['up', '--redis'])).toMatchObject({ command: 'up', redis: true });
    expect(parseCli([])).toEqual({ command: 'help', usage: USAGE });
  });

  it('gives each command its own --help, and `authlab help <command>` the same', () => {
    for (const command of ['study', 'up', 'down', 'status', 'report', 'compare'] as const) {
      expect(parseCli([command, '--help'])).toEqual({ command: 'help', usage: COMMAND_USAGE[command] });
      expect(parseCli(['help', command])).toEqual({ command: 'help', usage: COMMAND_USAGE[command] });
      expect(COMMAND_USAGE[command]).toMatch(new RegExp(`^Usage: authlab ${command}\\b`));
    }
  });

  it('takes `up --restart on-failure|no` and `status`, and refuses anything else with one sentence', () => {
    expect(parseCli(['up', '--restart', 'no'])).toMatchObject({ command: 'up', restart: 'no' });
    expect(() => parseCli(['up', '--restart', 'always'])).toThrow("`--restart` must be 'on-failure' or 'no' (got 'always')");
    expect(parseCli(['status'])).toEqual({ command: 'status' });
    expect(() => parseCli(['status', '--pairs', '2'])).toThrow(/unknown flag '--pairs' for `authlab status`/);
  });

  it('turns report/compare command lines into typed options', () => {
    expect(parseCli(['report', 'r.json', '--out', 'x'])).toEqual({ command: 'report', results: 'r.json', out: 'x' });
    expect(parseCli(['compare', 'a.json', 'b.json', '--threshold-pct', '5', '--threshold-us=2.5', '--stats', 'p99'])).toEqual({
      command: 'compare',
      base: 'a.json',
      next: 'b.json',
      thresholdPct: 5,
      thresholdUs: 2.5,
      stats: ['p99'],
    });
    expect(parseCli(['compare', 'a.json', 'b.json'])).toEqual({ command: 'compare', base: 'a.json', next: 'b.json' });
  });

  it("refuses an unknown flag on every command with one sentence pointing at that command's --help", () => {
    for (const command of ['study', 'up', 'down', 'report', 'compare']) {
      expect(() => parseCli([command, '--bogus'])).toThrow(
        new UsageError(`unknown flag '--bogus' for \`authlab ${command}\`; see \`authlab ${command} --help\` for the flags it takes`),
      );
    }
  });

  it('rejects what is not a whole positive number, naming the flag and the value', () => {
    for (const bad of ['0', '-3', '1.5', '1e3', 'abc', '']) {
      expect(() => parseCli(['study', '--rate', bad])).toThrow(new UsageError(`\`--rate\` must be a positive integer (got '${bad}')`));
    }
  });
});

describe('parseDurationS', () => {
  it('reads ms, s, m and bare seconds', () => {
    expect(parseDurationS('500ms')).toBe(0.5);
    expect(parseDurationS('30s')).toBe(30);
    expect(parseDurationS('2m')).toBe(120);
    expect(parseDurationS('45')).toBe(45);
  });
  it('refuses zero, negatives, units it does not know and absurd lengths', () => {
    for (const bad of ['0s', '-1s', '3h', '30 seconds', '100000m']) expect(() => parseDurationS(bad)).toThrow(UsageError);
  });
});

describe('--observe and --live-port', () => {
  it('are parsed on study and up, and a bad port is one sentence', () => {
    expect(parseCli(['study', '--observe', '--live-port', '21001'])).toMatchObject({ observe: true, livePort: 21001 });
    expect(parseCli(['up', '--observe'])).toMatchObject({ observe: true });
    expect(() => parseCli(['up', '--live-port', 'x'])).toThrow(/--live-port/);
  });
});
