/**
 * `token_result_total{result="issued"} 12` lines of a Prometheus text exposition → `{issued: 12}`
 * (summed over any other labels). Only this counter: the UI shows token exchanges by result.
 */
export function tokenResults(exposition: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of exposition.split('\n')) {
    const m = /^token_result_total\{([^}]*)\}\s+([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const result = /(?:^|,)result="([^"]*)"/.exec(m[1]!)?.[1] ?? 'unknown';
    out[result] = (out[result] ?? 0) + Number(m[2]);
  }
  return out;
}
