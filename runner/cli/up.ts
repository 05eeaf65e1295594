import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../platforms/local/index.js';
import { startAdminConsole, type AdminConsole } from '../admin-console/console.js';
import { platformStudyRunner } from '../admin-console/study-runner.js';
import type { UpArgs } from './args.js';
import { EXIT } from '../../system/protocol/errors.js';
import { requireLocalPlatform } from './preflight.js';
import { onShutdownSignal } from './shutdown.js';
import { acquireUpState, releaseUpState, runsDir, updateUpState, upPaths } from './state.js';
import type { CliIo } from './io.js';

/**
 * `authlab up`: provisions the local platform, writes `runs/up/endpoints.json` and stays up until
 * SIGINT/SIGTERM (Ctrl-C or `authlab down`), then tears everything down and removes its files.
 * Resolves the exit code: 0 after a clean stop, 130 when interrupted during start-up.
 */
export async function upCommand(args: UpArgs, io: CliIo): Promise<number> {
  requireLocalPlatform(args.platform);
  const runs = runsDir();
  const paths = upPaths(runs);
  const startedAt = new Date().toISOString();
  await acquireUpState(runs, { pid: process.pid, startedAt, status: 'starting', pairs: args.pairs });
  const shutdown = onShutdownSignal(() => io.err('authlab up: stopping…'));
  let platform: LocalPlatform | undefined;
  let adminConsole: AdminConsole | undefined;
  try {
    io.err(`authlab up: starting the local platform with ${args.pairs} pair(s)…`);
    platform = await startLocalPlatform({
      pairs: args.pairs,
      basePort: args.basePort,
      signal: shutdown.signal,
      log: (l) => io.err(`  ${l}`),
    });
    await writeFile(paths.endpoints, JSON.stringify(platform.endpoints, null, 2) + '\n', { mode: 0o600 });
    await updateUpState(runs, { pid: process.pid, startedAt, status: 'ready', pairs: args.pairs });
    const e = platform.endpoints;
    adminConsole = await startAdminConsole({
      idpUrl: e.idp.url,
      services: e.services,
      studies: platformStudyRunner(platform, args.pairs, runs),
    });
    io.out(`authlab up: ready in ${platform.startupMs} ms`);
    io.out(`  idp       ${e.idp.url}`);
    io.out(`  admin ui  ${adminConsole.url}/admin/ui  (sign in with the admin token; can run studies on this platform)`);
    io.out(`  postgres  ${e.postgres.url.replace(/:[^:@/]+@/, ':***@')}`);
    for (const s of e.services) io.out(`  ${s.name.padEnd(9)} ${s.url}  (pair ${s.pair}, database ${s.database})`);
    io.out(`  endpoints ${relative(process.cwd(), paths.endpoints) || paths.endpoints} (admin token and passwords inside)`);
    io.out('Ctrl-C or `authlab down` stops everything.');
    if (!shutdown.signal.aborted) {
      await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    return EXIT.ok;
  } catch (err) {
    if (shutdown.received()) {
      io.err(`authlab up: interrupted during start-up; everything started so far was stopped`);
      return EXIT.interrupted;
    }
    throw err;
  } finally {
    await adminConsole?.close();
    await platform?.close();
    await releaseUpState(runs, process.pid);
    shutdown.dispose();
    if (platform) io.err('authlab up: stopped; no process or temporary file is left');
  }
}
