/**
 * `node --import tsx system/sidecar/main.ts --config <file.json>`: reads the config, starts the
 * sidecar, prints the ListeningLine, and closes cleanly (exit 0) on SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import type { ListeningLine } from '../protocol/endpoints.js';
import { buildSidecar } from './app.js';
import { loadSidecarConfig } from './config.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  if (!values.config) {
    process.stderr.write('usage: node --import tsx system/sidecar/main.ts --config <file.json>\n');
    process.exit(2);
  }
  const config = await loadSidecarConfig(values.config);
  const sidecar = buildSidecar(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[sidecar ${config.service}] ${signal}: closing\n`);
    sidecar.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`[sidecar ${config.service}] close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const url = await sidecar.start();
  const line: ListeningLine = { event: 'listening', service: config.service, url };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`sidecar failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
