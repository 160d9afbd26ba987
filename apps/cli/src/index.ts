/**
 * AnnexML from code and from the command line, in Node.
 *
 * - `train(options)` / `loadModel(path)` / `saveModel(model, path, { compact })`
 *   / `importCppModel(path, options)`: the programmatic trainer, model files
 *   and importer. The model itself (`model.predict(rows, { k })`,
 *   `model.predictor(options).predictRow(indices, values, k)`, and
 *   `AnnexmlModel.fromBytes` in any runtime) is `@annexml/model`'s,
 *   re-exported here. Their options are camelCase with
 *   string unions and booleans (`TRAINING_OPTIONS`, `PREDICT_OPTIONS` map
 *   each to its config key); a bad or unknown option throws `AnnexmlError`
 *   with code `BAD_OPTION`.
 * - `main(argv)` runs the `annexml` command and returns its exit code.
 */

export type { Compact } from "@annexml/model";
export {
  AnnexmlModel,
  DEFAULT_VOTE_SETTINGS,
  LabelNames,
  type LearnerArrays,
  type ModelInfo,
  type ModelPredictOptions,
  type PartArrays,
  PREDICT_OPTIONS,
  Predictor,
  type PredictSettings,
  type RowPrediction,
  RUN_OPTIONS,
  type RunOptions,
  TRAINING_OPTIONS,
  type TrainingOptions,
  type TrainingParams,
  type VoteSettings,
} from "@annexml/model";
export { loadModel, type TrainOptions, train } from "./api.js";
export { buildProgram, main } from "./cli.js";
export { type EvalCommandOptions, runEval } from "./commands/eval.js";
export { computeStats, type DatasetStats, formatStats } from "./commands/stats.js";
export { type AnnexmlParams, defaultParams, PARAMS } from "./config.js";
export { describeError, UsageError } from "./errors.js";
export { type Feature0Mode, type ImportOptions, importCppModel } from "./import/index.js";
export { readModelFile, saveModel } from "./model/files.js";
export { VERSION } from "./version.js";
