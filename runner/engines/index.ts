import { buildAutocannonEngine } from './autocannon.js';
import { buildK6Engine } from './k6.js';
import type { EngineName } from '../../results/schema.js';
import type { Engine } from './types.js';

export type { Engine, EngineRequest, EngineResult, EngineRunOptions } from './types.js';
export { buildAutocannonEngine } from './autocannon.js';
export { buildK6Engine, findK6 } from './k6.js';

/** The engine named on the command line. */
export function buildEngine(name: EngineName): Engine {
  return name === 'k6' ? buildK6Engine() : buildAutocannonEngine();
}
