import { processIo } from './io.js';
import { runCli } from './run.js';

// Entry of `authlab` (bin/authlab.js): only wiring; every decision lives in run.ts. Exit explicitly:
// by now every child is stopped, and a library's `beforeExit` hook must not replace our exit code.
process.exit(await runCli(process.argv.slice(2), processIo));
