import type { DenseMatrix, KnnResult } from "@annexml/sparse-io";
import type { AnnIndexKind, AnnMetric, CandidateOrder, SearchOptions } from "./options.js";

/**
 * A nearest-neighbour index over the rows of a {@link DenseMatrix}: the
 * tree + kNN-graph index (`graph`, approximate) or the exact scan
 * (`bruteForce`, the oracle), behind one interface.
 *
 * Results are row ids of the indexed matrix, best first: for `cosine` the
 * similarity `1 - d / 2` (descending), for `l2` the squared distance `d`
 * (ascending); between equal distances the lower id comes first. `d` is
 * the float32 value the distance kernel computes (`@annexml/knng`'s
 * `VectorSpace`: WebAssembly SIMD sums in float32, the JavaScript fallback
 * in double rounded to float32; they may differ in the last bits), and the
 * ranking uses it as computed. Deterministic for a given platform. Searches
 * are synchronous and reuse the index's scratch buffers, so one index must
 * not be searched re-entrantly (it never is in single-threaded code); use
 * one index object per worker.
 *
 * Queries are `Float32Array`s of at least `dim` entries (only the first
 * `dim` are read, so a padded row of a {@link DenseMatrix} can be passed
 * as is). Well-defined edge cases, identical for both kinds:
 * - `k = 0` or an empty index: no result (count 0);
 * - `k > size`: all `size` rows, exactly ranked (the graph index then scans);
 * - a query that contains NaN or ±Infinity: an `AnnexmlError` `BAD_INPUT` naming the entry;
 * - `cosine` and an all-zero query: no result (a zero vector has no
 *   direction); otherwise the query is normalised first;
 * - duplicate rows: equal distances, ordered by id; the graph index finds
 *   at least the nearest distances but, among more than k rows at exactly
 *   the same distance, not necessarily the lowest ids.
 */
export interface AnnIndex {
  readonly kind: AnnIndexKind;
  /** Number of indexed rows. */
  readonly size: number;
  /** Dimension of the vectors (and of the queries). */
  readonly dim: number;
  readonly metric: AnnMetric;
  /**
   * Distance computations made by this index's searches so far (tree
   * descent excluded): a cost measure independent of the machine, for
   * benchmarks.
   */
  readonly distanceEvaluations: number;
  /**
   * Bytes the index holds of its own: its `VectorSpace` (WebAssembly: a
   * copy of the vectors, `dim` rounded up to a multiple of 4, and for a
   * graph index of the graph and its visited stamps, `4 * (numEdges + 1)`
   * bytes per row, plus a few KiB of scratch, rounded up to 64 KiB pages),
   * a graph index's split planes and id map; not the caller's vectors or
   * {@link IndexArrays}, nor the search scratch every index of a thread
   * shares. A model loaded in each of several worker threads holds this
   * once per thread.
   */
  readonly bytes: number;
  /**
   * The `min(k, size)` (or fewer, see above) best rows for `query`, in new
   * arrays of exactly that length.
   */
  search(
    query: Float32Array,
    k: number,
    options?: SearchOptions,
  ): { ids: Int32Array; scores: Float32Array };
  /**
   * Like {@link search} without allocating: writes the results to
   * `outIds` / `outScores` from `offset` (which need room for
   * `min(k, size)` entries) and returns their count; later entries are left
   * untouched.
   */
  searchInto(
    query: Float32Array,
    k: number,
    outIds: Int32Array,
    outScores: Float32Array,
    offset?: number,
    options?: SearchOptions,
  ): number;
  /**
   * Searches every row of `queries` (`queries.cols === dim`) into one flat
   * {@link KnnResult} of `k` entries per query (`out` when given: it must
   * have `rows === queries.rows` and the same `k`). Missing entries have id
   * -1 and the worst score (`-Infinity` for cosine, `+Infinity` for l2).
   */
  searchBatch(queries: DenseMatrix, k: number, options?: SearchOptions, out?: KnnResult): KnnResult;
  /**
   * The index's own state as flat arrays (for a model file): the tree and
   * the graph, never the vectors, which the caller stores once and passes
   * back to {@link indexFromArrays}. The arrays may be shared with the
   * index: do not modify them.
   */
  toArrays(): IndexArrays;
}

/**
 * The serialisable state of an {@link AnnIndex} (see {@link BisectionTree}
 * for the tree layout). Ids are row ids of the indexed matrix. For
 * `bruteForce` the typed arrays are empty and `leafSize = numEdges = 0`.
 */
export interface IndexArrays {
  /** Layout version of these arrays (currently 1). */
  readonly version: number;
  readonly kind: AnnIndexKind;
  readonly metric: AnnMetric;
  readonly size: number;
  readonly dim: number;
  /** Leaf size the tree was grown with. */
  readonly leafSize: number;
  /** Out-edges per row in `edges`. */
  readonly numEdges: number;
  /** Default candidate order of searches. */
  readonly order: CandidateOrder;
  /** Default number of leaves the descent collects. */
  readonly leaves: number;
  /** Two child references per split node (`>= 0` split node, `< 0` leaf `~c`). */
  readonly splitChildren: Int32Array;
  /** `dim` floats per split node: unit normal from the left to the right child's centre. */
  readonly splitNormals: Float32Array;
  /** One per split node: `(|cR|^2 - |cL|^2) / (2 |cR - cL|)`; a query goes left iff `<normal, q> < offset`. */
  readonly splitOffsets: Float32Array;
  /** Leaves + 1 offsets into `leafRows`. */
  readonly leafPtr: Int32Array;
  /** The rows grouped by leaf: a permutation of `0 .. size - 1`. */
  readonly leafRows: Int32Array;
  /** `size * numEdges` neighbour ids, best first per row, -1 = none. */
  readonly edges: Int32Array;
}

/** The layout version written by {@link AnnIndex.toArrays}. */
export const INDEX_ARRAYS_VERSION = 1;
