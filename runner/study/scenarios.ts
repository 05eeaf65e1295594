import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AuthlabError } from '../../system/protocol/errors.js';
import type { Scenario } from '../../scenarios/scenario.js';
import type { EngineName } from '../../results/schema.js';

/** The folder scenarios are discovered in. */
export const SCENARIOS_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));

/** Files in scenarios/ that are not scenarios. */
const NOT_SCENARIOS = new Set(['scenario']);

function isScenario(value: unknown): value is Scenario {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.name !== 'string' || typeof v.description !== 'string') return false;
  if (v.kind === 'load') return Array.isArray(v.mix) && typeof v.quick === 'object' && typeof v.full === 'object';
  if (v.kind === 'storm') return typeof v.run === 'function';
  if (v.kind === 'replication') return typeof v.quick === 'object' && typeof v.full === 'object';
  if (v.kind === 'fault') return typeof v.inject === 'function' && typeof v.quick === 'object' && typeof v.full === 'object';
  return false;
}

/**
 * Every scenario under `dir`: each `*.ts` / `*.js` file (not tests, not `scenario.ts`, not the k6
 * folder) whose default export is a Scenario. Nothing is hard-coded: adding a file adds a scenario.
 *
 * @throws AuthlabError ERR_SCENARIO_INVALID when a file exports something that is not a scenario,
 *   ERR_SCENARIO_DUPLICATE when two files claim the same name (both exit 2: the user fixes the files).
 */
export async function discoverScenarios(dir: string = SCENARIOS_DIR): Promise<Map<string, Scenario>> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = new Map<string, string>();
  for (const e of entries) {
    if (!e.isFile()) continue;
    const ext = extname(e.name);
    const base = e.name.slice(0, -ext.length);
    if ((ext !== '.ts' && ext !== '.js') || e.name.endsWith('.d.ts') || base.endsWith('.test') || NOT_SCENARIOS.has(base)) continue;
    // Prefer the TypeScript source when both it and a compiled copy exist.
    if (!files.has(base) || ext === '.ts') files.set(base, join(dir, e.name));
  }
  const found = new Map<string, Scenario>();
  const fileOf = new Map<string, string>();
  for (const [base, path] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    if (!isScenario(mod.default)) {
      throw new AuthlabError(
        'ERR_SCENARIO_INVALID',
        `scenarios/${base}: its default export is not a scenario (kind 'load' | 'storm' | 'replication' | 'fault' with name and description); fix the file or move it out of scenarios/`,
      );
    }
    const prior = fileOf.get(mod.default.name);
    if (prior !== undefined) {
      throw new AuthlabError(
        'ERR_SCENARIO_DUPLICATE',
        `scenarios/${prior} and scenarios/${base} are both named '${mod.default.name}'; rename one`,
      );
    }
    found.set(mod.default.name, mod.default);
    fileOf.set(mod.default.name, base);
  }
  return found;
}

/**
 * The scenarios a study runs, in the order given (defaults: by their `order`, then name).
 *
 * @throws AuthlabError ERR_SCENARIO_UNKNOWN naming the unknown scenario and the known ones, or
 *   ERR_SCENARIO_ENGINE for a load scenario the engine cannot run (both exit 2).
 */
export function selectScenarios(all: Map<string, Scenario>, names: readonly string[], quick: boolean, engine: EngineName): Scenario[] {
  const known = [...all.keys()].join(', ');
  const byOrder = (a: Scenario, b: Scenario) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name);
  const defaults = () => [...all.values()].filter((s) => (quick ? s.defaultIn.quick : s.defaultIn.full)).sort(byOrder);
  const chosen =
    names.length === 0
      ? defaults()
      : names.map((n) => {
          const s = all.get(n);
          if (!s) throw new AuthlabError('ERR_SCENARIO_UNKNOWN', `unknown scenario '${n}'; known scenarios: ${known}`);
          return s;
        });
  for (const s of chosen) {
    if (s.kind === 'load' && !s.engines.includes(engine)) {
      throw new AuthlabError(
        'ERR_SCENARIO_ENGINE',
        `scenario '${s.name}' cannot run on engine ${engine} (it names ${s.engines.join(', ')}); pick another --engine or drop it from --scenarios`,
      );
    }
  }
  return chosen;
}
