import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { decodeHistogram } from '../../results/hdr.js';
import type { EngineResult } from './types.js';

/** An EngineResult as it crosses a process boundary (IPC is JSON): histograms as compressed base64. */
export interface WireResult extends Omit<EngineResult, 'latency' | 'serverTiming'> {
  latency: string;
  serverTiming: Record<string, string>;
}

/** The JSON-safe form of a result; the inverse of {@link fromWire}. */
export function toWire(r: EngineResult): WireResult {
  const serverTiming: Record<string, string> = {};
  for (const [stage, h] of Object.entries(r.serverTiming)) serverTiming[stage] = encodeIntoCompressedBase64(h);
  return { ...r, latency: encodeIntoCompressedBase64(r.latency), serverTiming };
}

/** The result a run in another process produced, in the shape an in-process run returns. */
export function fromWire(w: WireResult): EngineResult {
  const serverTiming: EngineResult['serverTiming'] = {};
  for (const [stage, hdr] of Object.entries(w.serverTiming)) serverTiming[stage] = decodeHistogram(hdr);
  return { ...w, latency: decodeHistogram(w.latency), serverTiming };
}
