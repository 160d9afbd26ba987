/**
 * @annexml/partition: data partitioning for AnnexML (spherical k-means and
 * min-cut of the label kNN graph) behind one `Partitioner` interface.
 */
export { balanceBiases, centreScores, partCapacity } from "./balance.js";
export { fitKmeans } from "./kmeans.js";
export { fitMincut } from "./mincut.js";
export { partitionModelFromArrays } from "./model.js";
export {
  DEFAULT_PARTITION_OPTIONS,
  MAX_TREE_BRANCHING,
  MIN_BALANCE,
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
export { allocateLeaves, childCount, fitTree } from "./tree.js";
export type {
  EpochInfo,
  PartitionArrays,
  Partitioner,
  PartitionModel,
  PartitionOptions,
  TreeSplitter,
} from "./types.js";
