import type { DenseMatrix, KnnResult } from "@annexml/sparse-io";
import { badOption } from "@annexml/sparse-io";
import { GraphIndex } from "./indexes.js";
import type { ResolvedGraphIndexOptions } from "./options.js";
import type { BisectionTree } from "./tree.js";
import type { IndexArrays } from "./types.js";
import { INDEX_ARRAYS_VERSION } from "./types.js";

/** The first `E` columns of a prebuilt graph, checked against the `n` rows. */
export function takeEdges(graph: KnnResult, n: number, E: number): Int32Array {
  if (graph.rows !== n) {
    throw badOption(`graph must have one row per vector (${n}), but has ${graph.rows}`);
  }
  const edges = new Int32Array(n * E);
  const k = graph.k;
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < E; j++) {
      const e = graph.ids[r * k + j];
      if (!Number.isInteger(e) || e < -1 || e >= n || e === r) {
        throw badOption(
          `graph row ${r} must hold row ids in [0, ${n}) other than ${r}, or -1, but holds ${e}`,
        );
      }
      edges[r * E + j] = e;
    }
  }
  return edges;
}

/**
 * Puts a validated tree and `E = options.numEdges` edges per row (caller's
 * ids) together into a graph index.
 */
export function assembleGraphIndex(
  vectors: DenseMatrix,
  o: ResolvedGraphIndexOptions,
  tree: BisectionTree,
  edges: Int32Array,
): GraphIndex {
  const arrays: IndexArrays = {
    version: INDEX_ARRAYS_VERSION,
    kind: "graph",
    metric: o.metric,
    size: vectors.rows,
    dim: vectors.cols,
    leafSize: o.leafSize,
    numEdges: o.numEdges,
    order: o.order,
    leaves: o.leaves,
    ...tree,
    edges,
  };
  return new GraphIndex(arrays, vectors, o.reorder, o.kernel);
}
