export {
  DenseFtrlState,
  type FtrlState,
  ftrlInitialZ,
  SparseFtrlState,
  sigmoid,
} from "./ftrl-state.js";
export { fitKmeans, kmeansPartitioner } from "./kmeans.js";
export { createFtrlState, fitMincut, mincutPartitioner } from "./mincut.js";
export {
  accumulateInvertedScores,
  argmaxLowest,
  partitionModelFromArrays,
  singlePartitionModel,
  validatePartitionArrays,
} from "./model.js";
export {
  DEFAULT_PARTITION_OPTIONS,
  type ResolvedPartitionOptions,
  resolvePartitionCount,
  validateFitInput,
  validatePartitionOptions,
} from "./options.js";
export { partitionSizes, samePartitionFraction } from "./quality.js";
export {
  CLS_TYPE_NAMES,
  createPartitioner,
  partitionerNames,
  registerPartitioner,
} from "./registry.js";
export type {
  EpochInfo,
  PartitionArrays,
  Partitioner,
  PartitionModel,
  PartitionOptions,
} from "./types.js";
