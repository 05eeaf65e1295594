/** Number formatting shared by the HTML and Markdown renderers: 3 significant figures, units always shown. */

function sig3(x: number, group = true): string {
  if (x === 0) return '0';
  const abs = Math.abs(x);
  // Number(toPrecision) avoids exponent notation (1.23e+3); thousands get separators for readability.
  const rounded = Number(x.toPrecision(3));
  return abs >= 1000 && group ? rounded.toLocaleString('en-US') : rounded.toString();
}

/** A latency given in µs: "812 µs", "9.99 ms" (µs below 10 ms, ms above), 3 significant figures. */
export function formatUs(us: number): string {
  if (!Number.isFinite(us)) return '—';
  // Decide the unit after rounding, so 9,999 µs reads "10 ms", not "10,000 µs".
  if (Math.abs(Number(us.toPrecision(3))) < 10_000) return `${sig3(us)} µs`;
  return `${sig3(us / 1000)} ms`;
}

/** A signed latency difference: "+31 µs", "−1.2 ms". */
export function formatDeltaUs(us: number): string {
  const s = formatUs(Math.abs(us));
  if (us > 0) return `+${s}`;
  if (us < 0) return `−${s}`;
  return s;
}

/** A CI in µs with the unit once: "[24, 39] µs" or "[9.8, 12.1] ms", picking the unit from the wider end. */
export function formatCiUs(lo: number, hi: number): string {
  const inMs = Math.max(Math.abs(lo), Math.abs(hi)) >= 10_000;
  const f = (v: number): string => {
    // No thousands separator inside brackets: "[−410, 1,100]" reads as three numbers.
    const t = sig3(inMs ? v / 1000 : v, false);
    return v < 0 ? `−${t.slice(1)}` : t;
  };
  return `[${f(lo)}, ${f(hi)}] ${inMs ? 'ms' : 'µs'}`;
}

/** Requests per second, 3 significant figures: "12,400 req/s". */
export function formatRps(rps: number): string {
  if (!Number.isFinite(rps)) return '—';
  return `${sig3(rps)} req/s`;
}

/** A fraction as a percentage: 0.271 → "27.1%". */
export function formatPct(fraction: number): string {
  if (!Number.isFinite(fraction)) return '—';
  const t = sig3(fraction * 100);
  return fraction < 0 ? `−${t.slice(1)}%` : `${t}%`;
}

/** A p-value: "0.039", "<0.001". */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return '—';
  if (p < 0.001) return '<0.001';
  return p.toFixed(3);
}

/**
 * The plain-language verdict of a difference: "enforce adds 31 µs at p50 [24, 39] µs" when the CI
 * excludes zero, otherwise "no significant difference" (never a signed number that may be noise).
 */
export function verdictSentence(
  candidate: string,
  stat: string,
  deltaUs: number,
  ci: readonly [number, number],
  significant: boolean,
): string {
  if (!significant || (ci[0] <= 0 && ci[1] >= 0)) return `no significant difference at ${stat}`;
  const verb = deltaUs > 0 ? 'adds' : 'saves';
  return `${candidate} ${verb} ${formatUs(Math.abs(deltaUs))} at ${stat} ${formatCiUs(ci[0], ci[1])}`;
}

/** Escapes text for HTML element content and attribute values. */
export function esc(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
