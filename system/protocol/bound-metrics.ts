/**
 * Bound children for prom-client metrics on a request's hot path.
 *
 * prom-client 15's `metric.labels(...)` child still validates and hashes its label set on every
 * `observe`/`inc` (histogram.js `observe(labels)` → convertLabelsAndValues, validateLabel,
 * hashObject); `npm run bench:metrics` measures what that costs beside these children. A bound child
 * does it once: its first call goes through prom-client's own API (which validates the labels and
 * creates the series), then it holds that series and updates it in place the way prom-client does
 * (sum, count and the first bucket whose bound is ≥ the value; `+Inf` is the count). The series is
 * prom-client's, so exposition, `reset()` and the registry are unchanged; a child whose series was
 * reset or removed goes through prom-client again and picks up the new one. Like prom-client's
 * lazy children, nothing is exported for a label set before its first call.
 *
 * `bound-metrics.test.ts` checks the exposition against plain prom-client children for the same
 * calls, so a prom-client upgrade that changes its series layout fails there, not in production.
 */
import type { Counter, Histogram, LabelValues } from 'prom-client';

type Labels = Record<string, string | number | undefined>;
interface Series {
  labels: Labels;
}
interface HistogramSeries extends Series {
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}
interface CounterSeries extends Series {
  value: number;
}
/** The fields of a prom-client metric this module relies on (checked at bind time). */
interface Internals<S extends Series> {
  hashMap: Record<string, S>;
  upperBounds?: number[];
}

export interface BoundHistogram {
  observe(value: number): void;
  /**
   * Adds observations made elsewhere (the Go data plane's): per bucket the count of values whose first
   * bound ≥ the value is that bucket's (not cumulative; values above the last bound only in `count`),
   * their sum and their count. Creates the series at zero on first use, as prom-client's `zero()` does.
   */
  add(buckets: readonly number[], sum: number, count: number): void;
}
export interface BoundCounter {
  /** Adds 1. */
  inc(): void;
  /** Adds `n` ≥ 0. */
  add(n: number): void;
}

function internals<S extends Series>(metric: object, what: string): Internals<S> {
  const m = metric as Internals<S>;
  if (typeof m.hashMap !== 'object' || m.hashMap === null) {
    throw new Error(`prom-client's ${what} has no hashMap: bound-metrics.ts does not know this prom-client version`);
  }
  return m;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => String(a[k]) === String(b[k]));
}

/** Holds the prom-client series of one label set; `find` re-locates it after a reset or remove. */
class SeriesRef<S extends Series> {
  private map: Record<string, S> | null = null;
  private key = '';
  private series: S | null = null;

  constructor(
    private readonly metric: Internals<S>,
    private readonly labels: Labels,
  ) {}

  /** The series when it is still the one prom-client exports, else null. */
  current(): S | null {
    const s = this.series;
    return s !== null && this.metric.hashMap === this.map && this.map[this.key] === s ? s : null;
  }

  /** Re-locates the series after prom-client's own call created or updated it. */
  find(): void {
    this.map = this.metric.hashMap;
    this.series = null;
    for (const [key, s] of Object.entries(this.map)) {
      if (sameLabels(s.labels, this.labels)) {
        this.key = key;
        this.series = s;
        return;
      }
    }
  }
}

/** A child of `histogram` for `labels` whose `observe` costs a bucket search and three additions. */
export function bindHistogram<T extends string>(histogram: Histogram<T>, labels: LabelValues<T>): BoundHistogram {
  const m = internals<HistogramSeries>(histogram, 'Histogram');
  const bounds = m.upperBounds;
  if (!Array.isArray(bounds)) throw new Error("prom-client's Histogram has no upperBounds: bound-metrics.ts does not know this version");
  // prom-client keys bucketValues by the bound as a number; converting a double to a property key
  // on every observe costs more than the rest of it, so the keys are made once.
  const keys = bounds.map(String);
  const ref = new SeriesRef(m, labels as Labels);
  return {
    observe(value) {
      const s = ref.current();
      if (s === null) {
        histogram.observe(labels, value); // validates labels and value, creates the series
        ref.find();
        return;
      }
      if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
      s.sum += value;
      s.count += 1;
      const buckets = s.bucketValues as unknown as Record<string, number>;
      for (let i = 0; i < bounds.length; i++) {
        if (value <= bounds[i]!) {
          buckets[keys[i]!]! += 1;
          return;
        }
      }
    },
    add(counts, sum, count) {
      if (count === 0) return;
      if (counts.length !== bounds.length || !Number.isFinite(sum) || !(count > 0)) {
        throw new TypeError(`add() takes one count per bucket (${bounds.length}), a finite sum and a positive count`);
      }
      let s = ref.current();
      if (s === null) {
        ref.find();
        s = ref.current();
      }
      if (s === null) {
        histogram.zero(labels);
        ref.find();
        s = ref.current()!;
      }
      s.sum += sum;
      s.count += count;
      const buckets = s.bucketValues as unknown as Record<string, number>;
      for (let i = 0; i < bounds.length; i++) buckets[keys[i]!]! += counts[i]!;
    },
  };
}

/** A child of `counter` for `labels` whose `inc()` is one addition. */
export function bindCounter<T extends string>(counter: Counter<T>, labels: LabelValues<T>): BoundCounter {
  const ref = new SeriesRef(internals<CounterSeries>(counter, 'Counter'), labels as Labels);
  return {
    inc() {
      const s = ref.current();
      if (s === null) {
        counter.inc(labels, 1);
        ref.find();
        return;
      }
      s.value += 1;
    },
    add(n) {
      if (!(n >= 0) || !Number.isFinite(n)) throw new TypeError(`add() takes a finite n ≥ 0 (got ${n})`);
      if (n === 0) return;
      const s = ref.current();
      if (s === null) {
        counter.inc(labels, n);
        ref.find();
        return;
      }
      s.value += n;
    },
  };
}

/**
 * `make(key)` on a key's first call, the same value after: one bound child per label value, found by a
 * Map lookup on the value itself. Nest it for several labels (`perKey((a) => perKey((b) => ...))`), so a
 * request builds no composite key string.
 */
export function perKey<K, V>(make: (key: K) => V): (key: K) => V {
  const made = new Map<K, V>();
  return (key) => {
    let v = made.get(key);
    if (v === undefined) made.set(key, (v = make(key)));
    return v;
  };
}
