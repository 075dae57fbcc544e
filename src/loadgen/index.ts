export { runLoadgen, checkLoadgenOptions, type LoadgenOptions, type LoadgenReport } from './run.js';
export { parseLoadgenArgs, loadgenHelp, LoadgenArgsError } from './args.js';
export { formatLoadgenReport } from './report.js';
