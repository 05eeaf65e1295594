import { describe, expect, it } from 'vitest';
import { createProgress, estimateRemainingS, formatClock } from './progress.js';

function sink(tty: boolean) {
  const chunks: string[] = [];
  let t = 0;
  const progress = createProgress({
    stream: { write: (c: string) => chunks.push(c), isTTY: tty, columns: 200 },
    now: () => t,
    tickMs: 60_000,
  });
  return { progress, chunks, advance: (ms: number) => (t += ms) };
}

describe('progress', () => {
  it('formats clocks as m:ss and h:mm:ss', () => {
    expect(formatClock(0)).toBe('0:00');
    expect(formatClock(83)).toBe('1:23');
    expect(formatClock(3725)).toBe('1:02:05');
  });

  it('estimates the remaining time from finished trials only', () => {
    expect(estimateRemainingS(0, 1, 10, 5)).toBeUndefined();
    // 2 trials took 20 s → 10 s each; 8 left incl. the current one, 3 s into it.
    expect(estimateRemainingS(20, 3, 10, 3)).toBe(77);
  });

  it('prints plain lines with phase, trial i/N, elapsed and remaining when not a TTY', () => {
    const { progress, chunks, advance } = sink(false);
    progress.phase('scenario light');
    progress.trial(1, 4);
    advance(10_000);
    progress.trial(2, 4);
    advance(5_000);
    progress.log('run 3 done');
    progress.stop();
    const text = chunks.join('');
    expect(text).not.toContain('\x1b');
    expect(text.split('\n')).toEqual([
      '[0:00] scenario light',
      '[0:00] scenario light · trial 1/4 · elapsed 0:00 · remaining estimating…',
      '[0:10] scenario light · trial 2/4 · elapsed 0:10 · remaining ~0:30',
      'run 3 done',
      '',
    ]);
  });

  it('redraws one line in place on a TTY and prints logs above it', () => {
    const { progress, chunks, advance } = sink(true);
    progress.phase('provision');
    progress.trial(1, 2);
    advance(4_000);
    progress.trial(2, 2);
    progress.log('hello');
    progress.stop();
    const text = chunks.join('');
    expect(text).toContain('\r\x1b[2Kprovision · trial 2/2 · elapsed 0:04 · remaining ~0:04');
    expect(text).toContain('\r\x1b[2Khello\n');
    // Status lines never end with a newline: the line is rewritten, not scrolled.
    expect(chunks.filter((c) => c.includes('trial')).every((c) => !c.endsWith('\n'))).toBe(true);
    expect(text.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('keeps whole lines when the terminal reports no width, and cuts to the width when it does', () => {
    for (const [columns, expected] of [
      [0, 'provision · elapsed 0:00'],
      [30, 'provision · elapsed 0:00'],
      [22, 'provision · elapsed 0'], // width − 1: the last column stays free so the line never wraps
    ] as const) {
      const chunks: string[] = [];
      const p = createProgress({ stream: { write: (c: string) => chunks.push(c), isTTY: true, columns }, now: () => 0, tickMs: 60_000 });
      p.phase('provision');
      p.stop();
      expect(chunks[0]).toBe(`\r\x1b[2K${expected}`);
    }
  });
});
