import { request, type Dispatcher } from 'undici';
import { METRICS } from '../../system/protocol/metrics.js';

/**
 * Sum of the IdP's own `token_result_total{result}` over every result, read from its `/metrics`.
 * The storm measures IdP rps on the client side; this is the server's count of the same requests,
 * used to cross-check that the client saw every request the IdP served (and nothing else hit it).
 */
export async function readIdpTokenResults(
  idpUrl: string,
  dispatcher?: Dispatcher,
): Promise<{ total: number; byResult: Record<string, number> }> {
  const res = await request(new URL('/metrics', idpUrl), { method: 'GET', ...(dispatcher ? { dispatcher } : {}) });
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    throw new Error(`IdP /metrics answered ${res.statusCode}; is ${idpUrl} an authlab IdP?`);
  }
  return parseTokenResults(text);
}

/** Parses `token_result_total{result="..."} <n>` lines out of Prometheus text exposition. */
export function parseTokenResults(text: string): { total: number; byResult: Record<string, number> } {
  const byResult: Record<string, number> = {};
  let total = 0;
  const prefix = `${METRICS.tokenResultTotal}{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const m = /result="([^"]*)"[^}]*}\s+([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    const key = m[1] ?? '';
    byResult[key] = (byResult[key] ?? 0) + value;
    total += value;
  }
  return { total, byResult };
}
