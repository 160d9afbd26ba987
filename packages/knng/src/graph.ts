import type { DenseMatrix, KnnResult } from "@annexml/sparse-io";
import {
  type ApproxKnnOptions,
  approxKnnGraph,
  DEFAULT_APPROX_KNN_OPTIONS,
  validateApproxKnnOptions,
} from "./approx-knn.js";
import { exactKnnGraph } from "./dense-knn.js";

/**
 * Fraction of the exact graph's edges that the approximate graph holds:
 * over all rows, `|approx(i) ∩ exact(i)|` summed, divided by the number of
 * exact edges (ids -1 are ignored on both sides). With the same number of
 * edges in every row (as when n > k) this is the mean per-row recall.
 * Returns 1 when the exact graph has no edge.
 *
 * @throws RangeError when the two graphs differ in rows.
 */
export function graphRecall(approx: KnnResult, exact: KnnResult): number {
  if (approx.rows !== exact.rows) {
    throw new RangeError(
      `approx must have as many rows as exact (${exact.rows}), but has ${approx.rows}`,
    );
  }
  const n = exact.rows;
  // Stamp each row's approximate neighbours with the row id + 1: no clearing.
  let maxId = -1;
  for (let p = 0; p < approx.ids.length; p++) if (approx.ids[p] > maxId) maxId = approx.ids[p];
  for (let p = 0; p < exact.ids.length; p++) if (exact.ids[p] > maxId) maxId = exact.ids[p];
  const stamp = new Int32Array(maxId + 1);
  let hits = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let t = i * approx.k, end = t + approx.k; t < end; t++) {
      const id = approx.ids[t];
      if (id >= 0) stamp[id] = i + 1;
    }
    for (let t = i * exact.k, end = t + exact.k; t < end; t++) {
      const id = exact.ids[t];
      if (id < 0) continue;
      total++;
      if (stamp[id] === i + 1) hits++;
    }
  }
  return total === 0 ? 1 : hits / total;
}

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
    throw new RangeError(
      `method must be "exact", "approx" or "auto", but is ${JSON.stringify(method)}`,
    );
  }
  if (method === "exact") return exactKnnGraph(vectors, rest);
  validateApproxKnnOptions(rest);
  return approxKnnGraph(vectors, {
    ...rest,
    exactBelow: rest.exactBelow ?? DEFAULT_APPROX_KNN_OPTIONS.exactBelow,
  });
}
