import { pairServices } from '../../../system/protocol/endpoints.js';
import type { Role } from '../../../system/protocol/roles.js';

/** One service of the topology (docs/DESIGN.md §3 "Topology"). */
export interface ServiceSpec {
  name: string;
  pair: number;
  /** Database and role name, e.g. `svc_p1_a`. */
  database: string;
}

export interface GrantSpec {
  caller: string;
  target: string;
  roles: Role[];
}

/** `p1-a`, `p1-b`, …, `p<pairs>-b`. */
export function servicesFor(pairs: number): ServiceSpec[] {
  const out: ServiceSpec[] = [];
  for (let pair = 1; pair <= pairs; pair++) {
    for (const name of pairServices(pair)) out.push({ name, pair, database: `svc_${name.replace(/-/g, '_')}` });
  }
  return out;
}

/** Default grants: `p<i>-a → p<i>-b` read+write, `p<i>-b → p<i>-a` read; none across pairs. */
export function defaultGrants(pairs: number): GrantSpec[] {
  const out: GrantSpec[] = [];
  for (let pair = 1; pair <= pairs; pair++) {
    const [a, b] = pairServices(pair);
    out.push({ caller: a, target: b, roles: ['read', 'write'] });
    out.push({ caller: b, target: a, roles: ['read'] });
  }
  return out;
}
