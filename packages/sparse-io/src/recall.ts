import { badInput, badOption } from "./errors.js";
import type { KnnResult } from "./types.js";

/**
 * Recall@k of approximate neighbour lists against exact ones: the fraction
 * of the exact lists' ids (the first `k` of each row, `-1` entries skipped)
 * that also occur among the first `k` of the approximate row. Both results
 * must have the same rows and at least `k` columns; `k` defaults to the
 * exact result's `k` (for two kNN graphs of the same `k`: the fraction of the
 * exact graph's edges the approximate one holds). Returns 1 when there is
 * nothing to find. O(rows * k) time, one `Int32Array` of `max id + 1` stamps.
 *
 * @throws AnnexmlError `BAD_INPUT` when the rows differ, `BAD_OPTION` when `k` is not in `[1, min(approx.k, exact.k)]`.
 */
export function recallAtK(approx: KnnResult, exact: KnnResult, k = exact.k): number {
  if (approx.rows !== exact.rows) {
    throw badInput(`approx must have ${exact.rows} rows like exact, but has ${approx.rows}`);
  }
  if (!Number.isSafeInteger(k) || k < 1 || k > approx.k || k > exact.k) {
    throw badOption(
      `k must be an integer in [1, ${Math.min(approx.k, exact.k)}], but is ${String(k)}`,
    );
  }
  // Stamp each row's approximate neighbours with the row number + 1: no clearing.
  let maxId = -1;
  for (let r = 0; r < exact.rows; r++) {
    for (let j = 0; j < k; j++) {
      const a = approx.ids[r * approx.k + j];
      const e = exact.ids[r * exact.k + j];
      if (a > maxId) maxId = a;
      if (e > maxId) maxId = e;
    }
  }
  const stamp = new Int32Array(maxId + 1);
  let found = 0;
  let total = 0;
  for (let r = 0; r < exact.rows; r++) {
    for (let t = r * approx.k, end = t + k; t < end; t++) {
      const id = approx.ids[t];
      if (id >= 0) stamp[id] = r + 1;
    }
    for (let t = r * exact.k, end = t + k; t < end; t++) {
      const id = exact.ids[t];
      if (id < 0) continue;
      total++;
      if (stamp[id] === r + 1) found++;
    }
  }
  return total === 0 ? 1 : found / total;
}
