/** What long work reports (structurally the study runner's `ProgressSink`). */
export interface ProgressSink {
  /** A new phase, e.g. `provision`, `scenario light`, `report`. */
  phase(name: string): void;
  /** Trial `i` of `n` (1-based) is starting. */
  trial(i: number, n: number): void;
  /** A line of human-readable output. */
  log(line: string): void;
}

/** A progress sink that draws to a stream; `stop()` ends the live line and its timer. */
export interface ProgressRenderer extends ProgressSink {
  stop(): void;
}

export interface ProgressOptions {
  /** Where to draw (default `process.stderr`, so stdout stays clean for the report path). */
  stream?: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  /** Force TTY (one live line) or plain lines; default: `stream.isTTY`. */
  tty?: boolean;
  /** Clock in ms (injectable for tests). */
  now?: () => number;
  /** Redraw period of the live line, ms (default 1000). */
  tickMs?: number;
}

/** `83` → `1:23`; `3725` → `1:02:05`. */
export function formatClock(totalS: number): string {
  const s = Math.max(0, Math.round(totalS));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * Remaining time of trial-based work, seconds: the mean time of finished trials × trials left
 * (including the current one's rest). Undefined before one trial has finished.
 */
export function estimateRemainingS(elapsedInTrialsS: number, i: number, n: number, sinceTrialStartS: number): number | undefined {
  const finished = i - 1;
  if (finished < 1) return undefined;
  const perTrialS = elapsedInTrialsS / finished;
  return Math.max(0, perTrialS * (n - finished) - sinceTrialStartS);
}

/**
 * Renders progress: on a TTY one updating line (`phase · trial i/N · elapsed · ~remaining`), redrawn
 * every `tickMs` so elapsed keeps moving, with log lines printed above it; otherwise plain lines, one
 * per event, so CI logs stay readable.
 */
export function createProgress(opts: ProgressOptions = {}): ProgressRenderer {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? stream.isTTY === true;
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  let phase = 'starting';
  let trial: { i: number; n: number; startedAt: number } | undefined;
  let trialsT0 = 0;
  let timer: NodeJS.Timeout | undefined;
  let drawn = false;

  const elapsedS = () => (now() - t0) / 1000;
  const status = (): string => {
    const parts = [phase];
    if (trial) {
      parts.push(`trial ${trial.i}/${trial.n}`);
    }
    parts.push(`elapsed ${formatClock(elapsedS())}`);
    if (trial) {
      const rem = estimateRemainingS((trial.startedAt - trialsT0) / 1000, trial.i, trial.n, (now() - trial.startedAt) / 1000);
      parts.push(rem === undefined ? 'remaining estimating…' : `remaining ~${formatClock(rem)}`);
    }
    return parts.join(' · ');
  };
  const clear = () => {
    if (tty && drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = () => {
    if (!tty) return;
    // A pty without a size reports 0 columns: treat as unknown rather than cutting every line.
    const width = stream.columns && stream.columns > 20 ? stream.columns : 1000;
    const line = status();
    stream.write(`\r\x1b[2K${line.length >= width ? line.slice(0, width - 1) : line}`);
    drawn = true;
  };
  const ensureTimer = () => {
    if (!tty || timer) return;
    timer = setInterval(draw, opts.tickMs ?? 1000);
    timer.unref();
  };

  return {
    phase(name) {
      phase = name;
      trial = undefined;
      if (tty) {
        ensureTimer();
        draw();
      } else {
        stream.write(`[${formatClock(elapsedS())}] ${name}\n`);
      }
    },
    trial(i, n) {
      const t = now();
      if (!trial || i <= 1 || n !== trial.n) trialsT0 = t;
      trial = { i, n, startedAt: t };
      if (tty) {
        ensureTimer();
        draw();
      } else {
        stream.write(`[${formatClock(elapsedS())}] ${status()}\n`);
      }
    },
    log(line) {
      if (tty) {
        clear();
        stream.write(`${line}\n`);
        if (timer) draw();
      } else {
        stream.write(`${line}\n`);
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      clear();
    },
  };
}
