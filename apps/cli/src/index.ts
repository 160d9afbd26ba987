/**
 * The `annexml` command line, usable from code: `main(argv)` runs it and
 * returns the exit code; `buildProgram()` gives the commander program.
 */
export { buildProgram, main } from "./cli.js";
export { type EvalCommandOptions, runEval } from "./commands/eval.js";
export { computeStats, type DatasetStats, formatStats } from "./commands/stats.js";
export { describeError, UsageError } from "./errors.js";
export { VERSION } from "./version.js";
