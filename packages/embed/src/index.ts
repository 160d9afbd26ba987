export { approxStepDelta, wasmKernelAvailable } from "./kernel.js";
export {
  type EmbeddingArrays,
  type EmbeddingModel,
  embeddingModelFromArrays,
} from "./model.js";
export {
  type AnchorStep,
  DEFAULT_EMBEDDING_OPTIONS,
  type EmbeddingOptions,
  type EpochInfo,
  type KernelChoice,
  paddedStride,
  type ResolvedEmbeddingOptions,
  type RsqrtChoice,
  validateEmbeddingOptions,
} from "./options.js";
export {
  DEFAULT_KNN_VOTE_OPTIONS,
  type KnnVoteOptions,
  knnVotePrecision,
  validateKnnVoteOptions,
} from "./precision.js";
export { type EmbeddingInput, trainEmbedding } from "./train.js";
