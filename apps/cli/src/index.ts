/**
 * AnnexML from code and from the command line.
 *
 * - `train(options)` / `loadModel(path)` / `model.predict(rows, { k })` /
 *   `model.save(path, { compact })` / `importCppModel(path, options)`: the programmatic
 *   trainer, predictor and importer. Their options are camelCase with
 *   string unions and booleans (`TRAINING_OPTIONS`, `PREDICT_OPTIONS` map
 *   each to its config key); a bad or unknown option throws `AnnexmlError`
 *   with code `BAD_OPTION`.
 * - `main(argv)` runs the `annexml` command and returns its exit code.
 */
export { loadModel, type TrainOptions, train } from "./api.js";
export { buildProgram, main } from "./cli.js";
export { type EvalCommandOptions, runEval } from "./commands/eval.js";
export { computeStats, type DatasetStats, formatStats } from "./commands/stats.js";
export { type AnnexmlParams, defaultParams, PARAMS } from "./config.js";
export {
  DEFAULT_VOTE_SETTINGS,
  type LearnerArrays,
  type PartArrays,
  type PredictSettings,
  type VoteSettings,
} from "./engine/predictor.js";
export { describeError, UsageError } from "./errors.js";
export { type Feature0Mode, type ImportOptions, importCppModel } from "./import/index.js";
export type { Compact } from "./model/compact.js";
export {
  AnnexmlModel,
  type ModelInfo,
  type ModelPredictOptions,
  type TrainingParams,
} from "./model/model.js";
export {
  PREDICT_OPTIONS,
  RUN_OPTIONS,
  type RunOptions,
  TRAINING_OPTIONS,
  type TrainingOptions,
} from "./options.js";
export { VERSION } from "./version.js";
