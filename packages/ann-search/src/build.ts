import { approxKnnGraph, exactKnnGraph } from "@annexml/knng";
import type { DenseMatrix } from "@annexml/sparse-io";
import { badOption, deriveSeed } from "@annexml/sparse-io";
import { assembleGraphIndex, takeEdges } from "./assemble.js";
import { BruteForceIndex, validateVectors } from "./indexes.js";
import type { AnnIndexKind, GraphIndexOptions } from "./options.js";
import { AUTO_EXACT_MAX_ROWS, validateGraphIndexOptions } from "./options.js";
import { buildBisectionTree } from "./tree.js";
import type { AnnIndex } from "./types.js";

/**
 * Builds an index over the rows of `vectors` (row ids `0 .. rows - 1`).
 *
 * - `bruteForce`: the exact scan; uses only `options.metric` and `kernel`.
 * - `graph`: the tree + kNN-graph index of ALGORITHM.md section 4: a
 *   random-bisection tree with leaves of at most `leafSize` rows and a kNN
 *   graph of `numEdges` out-edges per row (`options.graph`, or built with
 *   `@annexml/knng`: exact or NN-descent, see `graphBuild`). Deterministic in
 *   `seed`.
 *
 * Distances come from `@annexml/knng`'s `VectorSpace` (WebAssembly SIMD
 * where it runs, which holds its own copy of the vectors; the JavaScript
 * fallback reads them in place unless `reorder`, so they must then stay
 * unchanged while the index is used). Throws an `AnnexmlError` (`BAD_OPTION`) for bad options
 * or vectors (NaN or infinite values; for `cosine`, rows that are neither
 * unit nor zero), naming the value.
 */
export function buildIndex(
  kind: AnnIndexKind,
  vectors: DenseMatrix,
  options: GraphIndexOptions = {},
): AnnIndex {
  if (kind !== "graph" && kind !== "bruteForce") {
    throw badOption(`kind must be "graph" or "bruteForce", but is ${JSON.stringify(kind)}`);
  }
  const o = validateGraphIndexOptions(options);
  validateVectors(vectors, o.metric);
  if (kind === "bruteForce") return new BruteForceIndex(vectors, o.metric, o.kernel);

  const n = vectors.rows;
  const E = o.numEdges;
  const tree = buildBisectionTree(vectors, o.leafSize, deriveSeed(o.seed, 1), o.splitIterations);
  let edges: Int32Array;
  if (o.graph !== null) {
    edges = takeEdges(o.graph, n, E);
  } else {
    edges = new Int32Array(n * E).fill(-1);
    const k = Math.min(E, n - 1);
    if (k > 0) {
      const exact =
        o.graphBuild === "exact" || (o.graphBuild === "auto" && n <= AUTO_EXACT_MAX_ROWS);
      const graph = exact
        ? exactKnnGraph(vectors, { k, metric: "l2", kernel: o.kernel })
        : approxKnnGraph(vectors, {
            k,
            metric: "l2",
            seed: deriveSeed(o.seed, 2),
            kernel: o.kernel,
          });
      for (let r = 0; r < n; r++) edges.set(graph.ids.subarray(r * k, (r + 1) * k), r * E);
    }
  }
  return assembleGraphIndex(vectors, o, tree, edges);
}
