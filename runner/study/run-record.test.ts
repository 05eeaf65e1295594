import { describe, expect, it } from 'vitest';
import { RunRecorder } from '../engines/histogram.js';
import { toRunRecord, type RunMeta } from './run-record.js';

const meta = (rate: number | null, connections = 1, durationS = 1.5): RunMeta => ({
  scenario: 'light',
  mode: 'off',
  pair: 1,
  trial: 1,
  engine: 'autocannon',
  rate,
  connections,
  durationS,
  warmupS: 0.5,
});

function result(responses: number, latencyUs = 900) {
  const rec = new RunRecorder(0);
  for (let i = 0; i < responses; i++) rec.record(i, latencyUs, 200);
  return rec.result({ model: 'closed', plannedS: 1.5, warmupS: 0.5 });
}

describe('toRunRecord', () => {
  it('invalidates a rate-driven run that delivered < 95% of its schedule, saying why', () => {
    // 200 req/s × 1.5 s = 300 scheduled; the audit saw 161–293 from one closed-loop connection.
    const r = toRunRecord(meta(200), result(273));
    expect(r.valid).toBe(false);
    expect(r.invalidFor).toBe('latency');
    expect(r.invalidReason).toMatch(/^delivered 273 of 300 scheduled requests \(91%, below 95%\): the load generator fell behind/);
  });

  it('keeps a run that delivered its schedule (one request of slack at the edge), and unlimited runs', () => {
    expect(toRunRecord(meta(200), result(284)).valid).toBe(true);
    expect(toRunRecord(meta(2), result(2)).valid).toBe(true); // 2 req/s × 1.5 s = 3 ± 1
    expect(toRunRecord(meta(null), result(10)).valid).toBe(true);
  });

  it("allows for the requests in flight at the window's edge (rate × mean latency), and no more", () => {
    // heavy: 1 req/s for 8 s, each query ~1.1 s: two may still be running when the window closes.
    expect(toRunRecord(meta(1, 2, 8), result(6, 1_100_000)).valid).toBe(true);
    const short = toRunRecord(meta(1, 2, 8), result(5, 1_100_000));
    expect(short.valid).toBe(false);
    expect(short.invalidReason).toMatch(/^delivered 5 of 8 scheduled requests/);
    // The same count of fast requests has no such excuse: one request of slack.
    expect(toRunRecord(meta(1, 2, 8), result(6, 900)).valid).toBe(false);
  });
});
