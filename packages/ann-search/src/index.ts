/**
 * @annexml/ann-search: approximate nearest-neighbour search over Float32
 * vectors with a random-bisection tree and a kNN graph (AnnexML's search),
 * plus an exact brute-force index behind the same interface.
 */

export type { IndexFromArraysOptions } from "./arrays.js";
export { indexFromArrays, validateIndexArrays } from "./arrays.js";
export { buildIndex } from "./build.js";
export { BEST_FIRST_SLACK, BruteForceIndex, GraphIndex, validateVectors } from "./indexes.js";
export type {
  AnnIndexKind,
  AnnMetric,
  CandidateOrder,
  GraphBuild,
  GraphIndexOptions,
  ResolvedGraphIndexOptions,
  SearchOptions,
} from "./options.js";
export {
  AUTO_EXACT_MAX_ROWS,
  DEFAULT_GRAPH_INDEX_OPTIONS,
  DEFAULT_SEARCH_OPTIONS,
  searchEps,
  searchLeaves,
  searchOrder,
  validateGraphIndexOptions,
  validateMetric,
  validateOrder,
  validateSearchOptions,
} from "./options.js";
export { recallAtK } from "./recall.js";
export type { BisectionTree } from "./tree.js";
export { buildBisectionTree } from "./tree.js";
export type { AnnIndex, IndexArrays } from "./types.js";
export { INDEX_ARRAYS_VERSION } from "./types.js";
