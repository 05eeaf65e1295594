import { describe, expect, it } from 'vitest';
import { compareResults, formatCompare } from '../reports/compare.js';
import { decodeHistogram, mergeHistograms } from '../results/hdr.js';
import { buildSampleResults } from './fixtures/make-fixture.js';

// Two independent studies of the same system (different seeds), and a third where enforce got 150 µs slower.
const base = buildSampleResults({ seed: 1, noInvalid: true, scenarios: ['light', 'heavy'] });
const same = buildSampleResults({ seed: 2, noInvalid: true, scenarios: ['light', 'heavy'] });
const slower = buildSampleResults({ seed: 2, noInvalid: true, scenarios: ['light', 'heavy'], extraUs: { light: { enforce: 150 } } });

describe('compareResults', () => {
  it('finds no regression between two studies of the same system', () => {
    const rows = compareResults(base, same);
    expect(rows).toHaveLength(2 * 4 * 2); // scenarios × modes × {p50, p99}
    expect(rows.filter((r) => r.regression)).toEqual([]);
    // Drift between two hosts/studies is real (every mode of a trial shares it), so some rows may
    // differ significantly by a few %; none may be called a regression, in either direction.
    expect(compareResults(same, base).filter((r) => r.regression)).toEqual([]);
    expect(rows.filter((r) => r.verdict === 'regressed' || r.verdict === 'improved').every((r) => Math.abs(r.deltaRelative) < 0.1)).toBe(
      true,
    );
  });

  it('flags a 150 µs slowdown of enforce as a significant regression, and nothing else', () => {
    const rows = compareResults(base, slower);
    const flagged = rows.filter((r) => r.regression).map((r) => `${r.scenario}/${r.mode}/${r.stat}`);
    expect(flagged).toEqual(['light/enforce/p50', 'light/enforce/p99']);
    const p50 = rows.find((r) => r.scenario === 'light' && r.mode === 'enforce' && r.stat === 'p50')!;
    expect(p50.verdict).toBe('regressed');
    expect(p50.ci95Us[0]).toBeGreaterThan(0);
    expect(p50.deltaUs).toBeGreaterThan(100);
    expect(p50.deltaUs).toBeLessThan(200);
    expect(p50.pValue).toBeLessThan(0.05);
  });

  it('calls the reverse direction an improvement, never a regression', () => {
    const rows = compareResults(slower, base);
    const p50 = rows.find((r) => r.scenario === 'light' && r.mode === 'enforce' && r.stat === 'p50')!;
    expect(p50.verdict).toBe('improved');
    expect(rows.some((r) => r.regression)).toBe(false);
  });

  it('respects the thresholds: a 150 µs (~16%) slowdown is not a regression at a 500 µs or 20% bar', () => {
    expect(compareResults(base, slower, { thresholdUs: 500 }).some((r) => r.regression)).toBe(false);
    expect(compareResults(base, slower, { thresholdPct: 20 }).some((r) => r.regression)).toBe(false);
    const rows = compareResults(base, slower, { thresholdUs: 500 });
    expect(rows.find((r) => r.mode === 'enforce' && r.scenario === 'light' && r.stat === 'p50')!.verdict).toBe('regressed');
  });

  it('reports headline quantiles from merged histograms, not averaged percentiles', () => {
    const rows = compareResults(base, same, { stats: ['p99'] });
    const row = rows.find((r) => r.scenario === 'heavy' && r.mode === 'off')!;
    const runs = base.runs.filter((r) => r.scenario === 'heavy' && r.mode === 'off');
    const merged = mergeHistograms(runs.map((r) => decodeHistogram(r.latencyUs.hdr)));
    expect(row.baseUs).toBe(Math.round(merged.getValueAtPercentile(99)));
    const averaged = runs.reduce((s, r) => s + r.latencyUs.p99, 0) / runs.length;
    expect(row.baseUs).not.toBe(Math.round(averaged));
  });

  it('gives no verdict with too few runs, and lists scenarios present on one side only', () => {
    const few = { ...same, runs: same.runs.filter((r) => r.trial <= 2) };
    const rows = compareResults(base, few);
    expect(rows.every((r) => r.verdict === 'too few runs' && !r.regression)).toBe(true);
    const lightOnly = { ...same, runs: same.runs.filter((r) => r.scenario === 'light') };
    const heavy = compareResults(base, lightOnly).filter((r) => r.scenario === 'heavy');
    expect(heavy.every((r) => r.verdict === 'only in base' && r.newUs === null)).toBe(true);
  });

  it('fails the gate when the new study ran a mode but too few of its runs were valid to judge', () => {
    // A host so busy the load generator fell behind in every enforce run: all of them invalid.
    const starved = {
      ...same,
      runs: same.runs.map((r) =>
        r.scenario === 'light' && r.mode === 'enforce'
          ? { ...r, valid: false, invalidReason: 'delivered 120 of 160 scheduled requests' }
          : r,
      ),
    };
    const rows = compareResults(base, starved);
    const enforce = rows.filter((r) => r.scenario === 'light' && r.mode === 'enforce');
    expect(enforce.map((r) => [r.verdict, r.unmeasured, r.regression])).toEqual([
      ['not measured in new', true, false],
      ['not measured in new', true, false],
    ]);
    expect(rows.filter((r) => r.unmeasured)).toHaveLength(2);
    expect(formatCompare(rows)).toMatch(/\nNot measured: light\/enforce ran in the new study with fewer than 3 valid runs/);
    // A scenario the new study did not run at all is only listed, not failed.
    const lightOnly = { ...same, runs: same.runs.filter((r) => r.scenario === 'light') };
    expect(compareResults(base, lightOnly).some((r) => r.unmeasured)).toBe(false);
  });

  it('formats a table with CIs and a closing line naming the regressions', () => {
    const text = formatCompare(compareResults(base, slower));
    expect(text).toMatch(/^\| Scenario \| Mode \| Stat \| Base \| New \| Δ/);
    expect(text).toContain('REGRESSED (beyond threshold)');
    expect(text).toMatch(/2 significant regressions beyond the threshold \(CI low end ≥ 5% and ≥ 0 µs\): light\/enforce p50 \+1\d\d µs/);
    expect(formatCompare(compareResults(base, same))).toContain('No significant regression beyond the threshold');
  });
});

describe('compare --relative-to off (the CI gate)', () => {
  const all = (us: number) => ({ direct: us, off: us, observe: us, enforce: us });
  const hostSlower = buildSampleResults({ seed: 2, noInvalid: true, scenarios: ['light'], extraUs: { light: all(2000) } });
  const lightBase = buildSampleResults({ seed: 1, noInvalid: true, scenarios: ['light'] });
  // Every sidecar mode 2 ms slower and direct not: the sidecar path (off over direct) costs 2 ms more.
  const pathSlower = buildSampleResults({
    seed: 2,
    noInvalid: true,
    scenarios: ['light'],
    extraUs: { light: { off: 2000, observe: 2000, enforce: 2000 } },
  });

  it('a host slower as a whole fails the absolute comparison but not the per-trial overhead over off', () => {
    expect(compareResults(lightBase, hostSlower, { stats: ['p50'] }).some((r) => r.regression)).toBe(true);
    const rows = compareResults(lightBase, hostSlower, { stats: ['p50'], relativeTo: 'off' });
    expect(rows.map((r) => r.mode)).toEqual(['direct', 'observe', 'enforce']);
    expect(rows.filter((r) => r.regression)).toEqual([]);
  });

  it('says when every mode moved together (the host, not auth) and points to --relative-to off', () => {
    const text = formatCompare(compareResults(lightBase, hostSlower, { stats: ['p50'] }));
    expect(text).toMatch(/Every mode moved the same way, direct \(no sidecar\) too \(light p50 slower\)/);
    expect(text).toMatch(/--relative-to off/);
    // A slowdown of enforce alone is auth's (the fixture's second seed drifted heavy by −5 % in every
    // mode, which is named), and relative comparisons have cancelled the host already.
    const enforceOnly = formatCompare(compareResults(base, slower));
    expect(enforceOnly).not.toMatch(/light p(50|99) slower/);
    expect(enforceOnly).toMatch(/\(heavy p50 faster\)/);
    expect(formatCompare(compareResults(hostSlower, lightBase, { stats: ['p50'] }))).toMatch(/\(light p50 faster\)/);
    // Every sidecar mode slower in studies without direct: the host or the sidecar path, so the note, which
    // blames the host, stays out.
    const noDirect = (r: typeof lightBase) => ({ ...r, runs: r.runs.filter((run) => run.mode !== 'direct') });
    const sidecarRows = compareResults(noDirect(lightBase), noDirect(pathSlower), { stats: ['p50'] });
    expect(sidecarRows.every((r) => r.verdict === 'regressed')).toBe(true);
    expect(formatCompare(sidecarRows)).not.toMatch(/Every mode moved/);
    const relative = compareResults(lightBase, hostSlower, { stats: ['p50'], relativeTo: 'off' });
    expect(formatCompare(relative, { relativeTo: 'off' })).not.toMatch(/Every mode moved/);
  });

  it('a slower enforce is a regression of its overhead, and the table says what the numbers are', () => {
    const slowEnforce = buildSampleResults({ seed: 2, noInvalid: true, scenarios: ['light'], extraUs: { light: { enforce: 2000 } } });
    const rows = compareResults(lightBase, slowEnforce, { stats: ['p50'], relativeTo: 'off' });
    expect(rows.filter((r) => r.regression).map((r) => r.mode)).toEqual(['enforce']);
    expect(formatCompare(rows, { relativeTo: 'off' })).toMatch(
      /Relative to off: each value is a mode's run minus the same trial's off run/,
    );
  });

  it('judges direct by what off adds over it: a cheaper sidecar path is no regression, a costlier one is', () => {
    // The direct runs slower (or the sidecar path cheaper): off − direct shrinks, which CI once failed as
    // "direct regressed" because direct − off grew.
    const directSlower = buildSampleResults({ seed: 2, noInvalid: true, scenarios: ['light'], extraUs: { light: { direct: 2000 } } });
    const cheaper = compareResults(lightBase, directSlower, { stats: ['p50'], relativeTo: 'off' });
    expect(cheaper.filter((r) => r.regression)).toEqual([]);
    expect(cheaper.find((r) => r.mode === 'direct')!.verdict).toBe('improved');
    const costlier = compareResults(lightBase, pathSlower, { stats: ['p50'], relativeTo: 'off' });
    expect(costlier.filter((r) => r.regression).map((r) => r.mode)).toEqual(['direct']);
    const d = costlier.find((r) => r.mode === 'direct')!;
    expect(d.baseUs!).toBeGreaterThan(0);
    expect(d.newUs! - d.baseUs!).toBeGreaterThan(1500);
    expect(formatCompare(costlier, { relativeTo: 'off' })).toMatch(
      /for a mode before it in the chain \(direct\) the off run minus the mode's/,
    );
  });
});
