import type { KnnResult, LabelMatrix } from "@annexml/sparse-io";
import { badInput } from "@annexml/sparse-io";

/**
 * Checks the CSR invariants the metrics rely on (binary search and per-row
 * de-duplication): `indptr` of length `rows + 1` from 0, non-decreasing, up
 * to at most `indices.length`; every row sorted ascending, unique and
 * non-negative. Throws an `AnnexmlError` `BAD_INPUT` naming `name`, the row and the values.
 * O(rows + non-zeros), far below the cost of the evaluation itself.
 */
export function validateLabelMatrix(matrix: LabelMatrix, name: string): void {
  const { rows, indptr, indices } = matrix;
  if (!Number.isSafeInteger(rows) || rows < 0) {
    throw badInput(`${name}.rows must be a non-negative integer, but is ${rows}`);
  }
  if (indptr.length !== rows + 1 || indptr[0] !== 0) {
    throw badInput(
      `${name}.indptr must have rows + 1 = ${rows + 1} entries starting at 0, but has ${indptr.length} starting at ${indptr[0]}`,
    );
  }
  if (indptr[rows] > indices.length) {
    throw badInput(
      `${name}.indptr ends at ${indptr[rows]}, beyond the ${indices.length} entries of ${name}.indices`,
    );
  }
  for (let r = 0; r < rows; r++) {
    const from = indptr[r];
    const to = indptr[r + 1];
    if (to < from) throw badInput(`${name}.indptr decreases at row ${r} (${from} then ${to})`);
    if (to > from && indices[from] < 0) {
      throw badInput(`${name} row ${r} has a negative label id ${indices[from]}`);
    }
    for (let p = from + 1; p < to; p++) {
      if (indices[p] <= indices[p - 1]) {
        throw badInput(
          `${name} row ${r} must be sorted ascending and unique, but has ${indices[p]} after ${indices[p - 1]}`,
        );
      }
    }
  }
}

/**
 * Checks the shape of a batch of predictions against `rows` truth rows;
 * throws an `AnnexmlError` `BAD_INPUT`.
 */
export function validatePredictions(predictions: KnnResult, rows: number): void {
  const { k, ids, scores } = predictions;
  if (predictions.rows !== rows) {
    throw badInput(
      `predictions must have as many rows as truth (${rows}), but have ${predictions.rows}`,
    );
  }
  if (!Number.isSafeInteger(k) || k < 0) {
    throw badInput(`predictions.k must be a non-negative integer, but is ${k}`);
  }
  if (ids.length < rows * k || scores.length < rows * k) {
    throw badInput(
      `predictions.ids and .scores must hold rows * k = ${rows * k} entries, but hold ${ids.length} and ${scores.length}`,
    );
  }
}
