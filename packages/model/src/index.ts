/**
 * A trained AnnexML model in any JavaScript runtime (no `node:` import):
 *
 * - `AnnexmlModel.fromBytes(bytes)` / `model.toBytes({ compact })`: the
 *   versioned, CRC-checked model file (`docs/MODEL_FORMAT.md`) as bytes.
 * - `model.predictor(options)`: built once, reused;
 *   `predictor.predictRow(indices, values, k)` gives one row's labels,
 *   scores and (when the model has them) names. `model.predict(rows)` does a
 *   batch.
 * - The parameter vocabulary (`PARAMS`, the config's snake_case keys, and
 *   `TRAINING_OPTIONS` / `PREDICT_OPTIONS` mapping the API's camelCase
 *   names to them), shared with the CLI.
 *
 * Training and files are the CLI's (`@annexml/cli`): it owns threads,
 * files and processes.
 */
export {
  COMPACT_VALUES,
  type Compact,
  decodeF16,
  decodeInt8Rows,
  decodeU16,
  encodeF16,
  encodeInt8Rows,
  encodeU16,
  f16ToF32,
  f32ToF16,
  fitsU16,
  normalizeDenseRows,
} from "./compact.js";
export { type Crc32, crc32 } from "./crc32.js";
export {
  ALIGN,
  alignUp,
  type Container,
  ContainerEncoder,
  encodeContainer,
  encodeIndexAndTrailer,
  encodePreamble,
  encodeSection,
  MODEL_FORMAT_VERSION,
  MODEL_MAGIC,
  PREAMBLE_BYTES,
  parseContainer,
  parseStoredContainer,
  peekVersion,
  type SectionArray,
  type SectionEncoding,
  type SectionEntry,
  type SectionSpec,
  type SectionType,
  type StoredSection,
} from "./format.js";
export {
  LabelNames,
  labelNameProblem,
  labelNamesFromArrays,
  labelNamesFromList,
} from "./label-names.js";
export {
  AnnexmlModel,
  type DecodedModel,
  type FromBytesOptions,
  type ModelIds,
  type ModelInfo,
  type ModelPredictOptions,
} from "./model.js";
export { ModelEncoder, partOrder } from "./model-encoder.js";
export {
  checkChoice,
  optionEntries,
  optionError,
  PREDICT_OPTIONS,
  type PredictOptions,
  paramsFromOptions,
  predictOptionsOf,
  RUN_OPTIONS,
  type RunOptions,
  type SearchKind,
  TRAINING_OPTIONS,
  TRAINING_PARAM_NAMES,
  type TrainingOptions,
  type TrainingParamName,
  type TrainingParams,
  trainingOptionsOf,
  trainingParamsOf,
  validatePredictOptions,
} from "./options.js";
export {
  type AnnexmlParams,
  applyObject,
  applyOverrides,
  checkNumber,
  defaultParams,
  PARAM_NAMES,
  PARAMS,
  type ParamSpec,
  paramsHelp,
  requireFiles,
} from "./params.js";
export {
  DEFAULT_VOTE_SETTINGS,
  type LearnerArrays,
  type PartArrays,
  Predictor,
  type PredictSettings,
  type RowPrediction,
  scoreDigits,
  type VoteSettings,
} from "./predictor.js";
export { learnerIdsOf, mergeShards, parseLearners, type StoredModel } from "./shards.js";
