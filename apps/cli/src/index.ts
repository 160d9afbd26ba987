/**
 * AnnexML from code and from the command line.
 *
 * - `train(options)` / `loadModel(path)` / `model.predict(rows, { k })` /
 *   `model.save(path)`: the programmatic trainer and predictor.
 * - `main(argv)` runs the `annexml` command and returns its exit code.
 */
export { loadModel, type TrainOptions, train } from "./api.js";
export { buildProgram, main } from "./cli.js";
export { type EvalCommandOptions, runEval } from "./commands/eval.js";
export { computeStats, type DatasetStats, formatStats } from "./commands/stats.js";
export { type AnnexmlParams, defaultParams, PARAMS } from "./config.js";
export type { LearnerArrays, PartArrays, PredictSettings } from "./engine/predictor.js";
export { describeError, UsageError } from "./errors.js";
export { type Feature0Mode, type ImportOptions, importCppModel } from "./import/index.js";
export {
  AnnexmlModel,
  type ModelInfo,
  type ModelPredictOptions,
  type TrainingParams,
} from "./model/model.js";
export { VERSION } from "./version.js";
