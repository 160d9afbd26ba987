/**
 * @annexml/ann-search: approximate nearest-neighbour search over Float32
 * vectors with a random-bisection tree and a kNN graph (AnnexML's search),
 * plus an exact brute-force index behind the same interface.
 */

/** The per-thread scratch of indexes read in place (see {@link IndexFromArraysOptions.arena}). */
export { SpaceArena } from "@annexml/knng";
export { type IndexFromArraysOptions, indexFromArrays, toLeafOrder } from "./arrays.js";
export { buildIndex } from "./build.js";
export {
  type AnnIndexKind,
  type AnnMetric,
  AUTO_EXACT_MAX_ROWS,
  type CandidateOrder,
  DEFAULT_GRAPH_INDEX_OPTIONS,
  DEFAULT_SEARCH_OPTIONS,
  type GraphBuild,
  type GraphIndexOptions,
  type ResolvedGraphIndexOptions,
  type SearchOptions,
  validateGraphIndexOptions,
  validateSearchOptions,
} from "./options.js";
export { type AnnIndex, INDEX_ARRAYS_VERSION, type IndexArrays } from "./types.js";
