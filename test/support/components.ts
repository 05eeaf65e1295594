import { join } from 'node:path';
import { spawnComponent, type Component } from '../../runner/platforms/local/child.js';
import { componentEntry } from '../../runner/platforms/local/paths.js';

/**
 * Starts `system/<component>/main.ts` as a child process the way the local platform does (config file
 * `<dir>/<name>.json`), resolving once it prints its ListeningLine; `stop()` sends SIGTERM, then SIGKILL.
 */
export function startComponent(component: 'identity' | 'idp' | 'sidecar', name: string, config: unknown, dir: string): Promise<Component> {
  return spawnComponent({ name, entry: componentEntry(component), configPath: join(dir, `${name}.json`), config, timeoutMs: 30_000 });
}
