import { processIo } from './io.js';
import { runCli } from './run.js';

// Entry of `authlab` (bin/authlab.js): only wiring; every decision lives in run.ts.
process.exitCode = await runCli(process.argv.slice(2), processIo);
