import { buildAutocannonEngine } from './autocannon.js';
import { buildK6Engine } from './k6.js';
import type { EngineName } from '../../results/schema.js';
import type { Engine } from './types.js';

export type { Engine, EngineRequest, EngineResult, EngineRunOptions } from './types.js';
export { buildAutocannonEngine } from './autocannon.js';
export { buildK6Engine, findK6 } from './k6.js';

/** The engine named on the command line; `k6Binary` is the k6 the CLI found (default: looked up). */
export function buildEngine(name: EngineName, k6Binary?: string): Engine {
  return name === 'k6' ? buildK6Engine(k6Binary === undefined ? {} : { binary: k6Binary }) : buildAutocannonEngine();
}
