import type { DenseMatrix, KnnResult } from "@annexml/sparse-io";
import { badOption } from "@annexml/sparse-io";
import {
  type ApproxKnnOptions,
  approxKnnGraph,
  DEFAULT_APPROX_KNN_OPTIONS,
  validateApproxKnnOptions,
} from "./approx-knn.js";
import { exactKnnGraph } from "./dense-knn.js";

/** How {@link buildDenseKnnGraph} builds the graph. */
export type DenseKnnMethod = "exact" | "approx" | "auto";

/** Options of {@link buildDenseKnnGraph}: those of the approximate builder plus the method. */
export interface BuildDenseKnnOptions extends ApproxKnnOptions {
  /**
   * `"exact"`: all pairs. `"approx"`: the grouped join (which itself turns
   * exact at or below `exactBelow` rows). `"auto"` (default): the same as
   * `"approx"`, i.e. exact for small n, approximate above.
   */
  method?: DenseKnnMethod;
}

/**
 * A dense kNN graph by the chosen method (see {@link BuildDenseKnnOptions});
 * output conventions of {@link exactKnnGraph}.
 */
export function buildDenseKnnGraph(vectors: DenseMatrix, options: BuildDenseKnnOptions): KnnResult {
  const { method = "auto", ...rest } = options;
  if (method !== "exact" && method !== "approx" && method !== "auto") {
    throw badOption(`method must be "exact", "approx" or "auto", but is ${JSON.stringify(method)}`);
  }
  if (method === "exact") return exactKnnGraph(vectors, rest);
  validateApproxKnnOptions(rest);
  return approxKnnGraph(vectors, {
    ...rest,
    exactBelow: rest.exactBelow ?? DEFAULT_APPROX_KNN_OPTIONS.exactBelow,
  });
}
