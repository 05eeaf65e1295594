/**
 * Turns Server-Timing stage medians into disjoint parts of a request's time, for stacked bars.
 *
 * What a response carries (system/sidecar): the answering sidecar's own stages (`sign`, `upstream`,
 * `verify`, `db`, …) and its `total`; a caller sidecar also forwards the target's stages renamed
 * `peer-<stage>` (`peer-verify`, `peer-db`, `peer-total`). Totals contain stages, and `upstream`
 * contains the whole target, so stacking the raw names would count time twice.
 */

/** Part names, in stacking order (bottom first). */
export const PART_ORDER = [
  'db',
  'verify',
  'sign',
  'target other',
  'hop to target',
  'upstream',
  'caller other',
  'sidecar other',
  'outside the sidecar',
] as const;

const PEER = 'peer-';

/**
 * @param stagesUs stage name → median p50 over runs, µs.
 * @param endToEndP50Us the request's p50 as the load generator saw it (merged histogram), µs.
 * @returns part name → µs; rests are clamped at 0 because medians of parts do not add exactly.
 */
export function stageParts(stagesUs: Readonly<Record<string, number>>, endToEndP50Us: number | null): Record<string, number> {
  const own: Record<string, number> = {};
  const peer: Record<string, number> = {};
  for (const [name, us] of Object.entries(stagesUs)) {
    if (name.startsWith(PEER)) peer[name.slice(PEER.length)] = us;
    else own[name] = us;
  }
  const parts: Record<string, number> = {};
  const add = (name: string, us: number): void => {
    parts[name] = (parts[name] ?? 0) + Math.max(0, us);
  };
  const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

  const { total: ownTotal, upstream, ...ownNamed } = own;
  const { total: peerTotal, ...peerNamed } = peer;
  for (const [name, us] of Object.entries(ownNamed)) add(name, us);

  if (upstream !== undefined && peerTotal !== undefined) {
    // The caller's upstream = the target's whole time + the hop (network, connection pool).
    for (const [name, us] of Object.entries(peerNamed)) add(name, us);
    add('target other', peerTotal - sum(peerNamed));
    add('hop to target', upstream - peerTotal);
  } else if (upstream !== undefined) {
    add('upstream', upstream);
  }
  const ownCovered = sum(ownNamed) + (upstream ?? 0);
  if (ownTotal !== undefined) {
    add(upstream !== undefined ? 'caller other' : 'sidecar other', ownTotal - ownCovered);
    if (endToEndP50Us !== null) add('outside the sidecar', endToEndP50Us - ownTotal);
  }
  return parts;
}
