import { AuthlabError } from '../../system/protocol/errors.js';
import { ClusterError } from '../../cluster/errors.js';
import { PlatformError } from '../platforms/local/errors.js';
import { parseCli } from './args.js';
import { EXIT, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { USAGE } from './usage.js';


/**
 * Runs one `authlab` invocation and resolves its exit code. User-fixable problems (bad flags, busy
 * port, missing k6, `up` already running) print one sentence and give 2; other failures give 1.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const args = parseCli(argv);
    switch (args.command) {
      case 'help':
        io.out(USAGE);
        return EXIT.ok;
      case 'up':
        return await (await import('./up.js')).upCommand(args, io);
      case 'down':
        return await (await import('./down.js')).downCommand(io);
      case 'study':
        return await (await import('./study.js')).studyCommand(args, io);
      case 'cluster':
        return await (await import('../../cluster/cli.js')).clusterCommand(args.argv, io);
      case 'report':
      case 'compare': {
        const mod = await import('../../reports/cli.js');
        return await (args.command === 'report' ? mod.reportCommand(args.argv) : mod.compareCommand(args.argv));
      }
    }
  } catch (err) {
    // ERR_BAD_REQUEST from the study runner: an unknown scenario or an option it cannot honour.
    const badRequest = err instanceof AuthlabError && err.code === 'ERR_BAD_REQUEST';
    if (err instanceof UsageError || badRequest || ((err instanceof PlatformError || err instanceof ClusterError) && err.userFixable)) {
      io.err(`authlab: ${err.message}`);
      return EXIT.usage;
    }
    const e = err as Error;
    io.err(`authlab: ${e.message ?? String(err)}`);
    if (process.env.AUTHLAB_DEBUG) io.err(e.stack ?? '');
    else io.err('(set AUTHLAB_DEBUG=1 for a stack trace)');
    return EXIT.failure;
  }
}
