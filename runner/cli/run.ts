import { EXIT, exitCodeOf } from '../../system/protocol/errors.js';
import { parseCli } from './args.js';
import type { CliIo } from './io.js';

/**
 * Runs one `authlab` invocation and resolves its exit code. Any error ends with one line on stderr
 * and the exit code its catalogue code records (2: the user must change something; 1: a failure);
 * an error outside the catalogue is a bug and exits 1 with a hint for the stack trace.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const args = parseCli(argv);
    switch (args.command) {
      case 'help':
        io.out(args.usage);
        return EXIT.ok;
      case 'up':
        return await (await import('./up.js')).upCommand(args, io);
      case 'down':
        return await (await import('./down.js')).downCommand(io);
      case 'status':
        return await (await import('./status.js')).statusCommand(io);
      case 'study':
        return await (await import('./study.js')).studyCommand(args, io);
      case 'report':
        return await (await import('./report.js')).reportCommand(args, io);
      case 'compare':
        return await (await import('./report.js')).compareCommand(args, io);
      case 'cluster':
        return await (await import('../../cluster/cli.js')).clusterCommand(args, io);
    }
  } catch (err) {
    const e = err as Error;
    io.err(`authlab: ${e?.message ?? String(err)}`);
    const code = exitCodeOf(err);
    if (code === EXIT.failure) {
      if (process.env.AUTHLAB_DEBUG) io.err(e?.stack ?? '');
      else io.err('(set AUTHLAB_DEBUG=1 for a stack trace)');
    }
    return code;
  }
}
