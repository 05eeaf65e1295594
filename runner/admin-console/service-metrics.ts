import { METRICS } from '../../system/protocol/metrics.js';

/** What the console shows of one sidecar, from its /metrics. */
export interface ServiceMetrics {
  /** `auth_verified_total` by result (ok, observe_denied, expired, …). */
  verified: Record<string, number>;
  /** `auth_signed_total` by result. */
  signed: Record<string, number>;
  /** `token_issued_total{result="ok"}`: access tokens this sidecar fetched. */
  tokensFetched: number;
  /** Set when /metrics could not be read. */
  error?: string;
}

/** Sums `name{…result="x"…} v` lines by result. */
function byResult(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const result = /result="([^"]*)"/.exec(line)?.[1] ?? 'unknown';
    out[result] = (out[result] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

export async function serviceMetrics(sidecarUrl: string): Promise<ServiceMetrics> {
  try {
    const res = await fetch(`${sidecarUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    return {
      verified: byResult(text, METRICS.authVerifiedTotal),
      signed: byResult(text, METRICS.authSignedTotal),
      tokensFetched: byResult(text, METRICS.tokenIssuedTotal).ok ?? 0,
    };
  } catch (err) {
    return { verified: {}, signed: {}, tokensFetched: 0, error: (err as Error).message };
  }
}
