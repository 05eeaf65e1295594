/**
 * `node --import tsx system/sidecar/main.ts --config <file.json>`: reads the config, starts the
 * sidecar, prints the ListeningLine, and closes cleanly (exit 0) on SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import type { ListeningLine } from '../protocol/endpoints.js';
import { buildSidecar } from './app.js';
import { loadSidecarConfig } from './config.js';

/** How long a SIGTERM/SIGINT may take to drain before the sidecar exits anyway. */
const CLOSE_DEADLINE_MS = 10_000;

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
    // A close that waits on something gone (a peer, Redis, the database) must not hold the process
    // until its supervisor (the kubelet after its grace period, `authlab down`) kills it.
    setTimeout(() => {
      process.stderr.write(`[sidecar ${config.service}] close did not finish within ${CLOSE_DEADLINE_MS / 1000} s; exiting\n`);
      process.exit(1);
    }, CLOSE_DEADLINE_MS).unref();
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
  const dataPlaneUrl = sidecar.dataPlaneUrl();
  const line: ListeningLine = { event: 'listening', service: config.service, url, ...(dataPlaneUrl ? { dataPlaneUrl } : {}) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`sidecar failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
