import { processIo } from './io.js';
import { runCli } from './run.js';

// Entry of `authlab` (bin/authlab.js): only wiring; every decision lives in run.ts.
// A closed reader (`authlab up | head -1`) must not crash us with EPIPE and orphan the children.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
// Exit explicitly: by now every child is stopped, and a library's `beforeExit` hook must not
// replace our exit code.
process.exit(await runCli(process.argv.slice(2), processIo));
