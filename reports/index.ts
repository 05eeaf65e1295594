/** Public surface of `reports/`: rendering, comparison (the `report` and `compare`
 * commands live in runner/cli and call these). Reads results.json only. */
export { renderReport, writeReport, loadResults } from './render.js';
export { compareResults, formatCompare } from './compare.js';
export type { CompareOptions, CompareRow, CompareStat, CompareVerdict } from './compare.js';
export { validateResults } from '../results/validate.js';
export { ReportError } from '../results/errors.js';
export type { ReportErrorCode } from '../results/errors.js';
