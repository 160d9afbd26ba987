import type { KnnResult } from "@annexml/sparse-io";

/**
 * Recall@k of approximate neighbour lists against exact ones: the fraction
 * of the exact lists' ids (the first `k` of each row, -1 entries skipped)
 * that also occur among the first `k` of the approximate row. Both results
 * must have the same rows and at least `k` columns; `k` defaults to the
 * exact result's `k`. Returns 1 when there is nothing to find.
 */
export function recallAtK(approx: KnnResult, exact: KnnResult, k = exact.k): number {
  if (approx.rows !== exact.rows) {
    throw new RangeError(`approx must have ${exact.rows} rows like exact, but has ${approx.rows}`);
  }
  if (!Number.isSafeInteger(k) || k < 1 || k > approx.k || k > exact.k) {
    throw new RangeError(
      `k must be an integer in [1, ${Math.min(approx.k, exact.k)}], but is ${String(k)}`,
    );
  }
  let found = 0;
  let total = 0;
  for (let r = 0; r < exact.rows; r++) {
    const e0 = r * exact.k;
    const a0 = r * approx.k;
    for (let j = 0; j < k; j++) {
      const id = exact.ids[e0 + j];
      if (id < 0) continue;
      total++;
      for (let t = 0; t < k; t++) {
        if (approx.ids[a0 + t] === id) {
          found++;
          break;
        }
      }
    }
  }
  return total === 0 ? 1 : found / total;
}
