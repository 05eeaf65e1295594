/** Public surface of `reports/`: rendering, comparison, CLI commands. Reads results.json only. */
export { renderReport, writeReport, loadResults } from './render.js';
export { compareResults, formatCompare } from './compare.js';
export type { CompareOptions, CompareRow, CompareStat, CompareVerdict } from './compare.js';
export { reportCommand, compareCommand } from './cli.js';
export type { CommandIo } from './cli.js';
export { validateResults } from '../results/validate.js';
export { ReportError } from '../results/errors.js';
export type { ReportErrorCode } from '../results/errors.js';
