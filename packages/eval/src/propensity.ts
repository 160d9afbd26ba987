import type { LabelMatrix } from "@annexml/sparse-io";
import { AnnexmlError, badInput } from "@annexml/sparse-io";
import { log, pow } from "./libm.js";
import { type PropensityOptions, validatePropensityOptions } from "./options.js";
import { validateLabelMatrix } from "./validate.js";

/**
 * Inverse propensities of the labels, `w_l = 1 / p_l`, from their training
 * frequencies (Jain et al. 2016, as the reference script computes them):
 * `w_l = 1 + C (n_l + B)^(-A)`, `C = (ln N - 1) (B + 1)^A`, with `n_l` the
 * number of training rows that have label `l` and `N` the number of training
 * rows (rows without labels included).
 *
 * Invariants: `weights[l]` is `w_l` for every `l < weights.length`; a label
 * with `n_l = 0`, also any id `>= weights.length`, weighs `unseen`
 * (`1 + C B^(-A)`; the script uses the same value for unseen true labels).
 */
export interface InversePropensities {
  readonly weights: Float64Array;
  readonly unseen: number;
  /** N, the number of training rows. */
  readonly trainRows: number;
  readonly A: number;
  readonly B: number;
}

/** 2^28 ids: a 3 GiB table at most; the largest public label spaces are ~1% of it. */
const MAX_WEIGHT_TABLE = 2 ** 28;

/**
 * Computes the {@link InversePropensities} of the label sets of a training
 * file. `weights.length` is the largest of `trainLabels.cols`,
 * `options.numLabels` and the largest label id + 1.
 *
 * Bit-compatible with the reference script: the same operations in the same
 * order, with correctly rounded `ln` and `pow` (the script's C library
 * agrees with them except in rare near-halfway cases, where it is the one
 * that is off). Throws an `AnnexmlError`: `BAD_OPTION` for bad options,
 * `BAD_INPUT` for a malformed matrix or a matrix without rows (ln 0),
 * `TOO_LARGE` for label ids beyond the weight table's limit.
 */
export function inversePropensities(
  trainLabels: LabelMatrix,
  options: PropensityOptions = {},
): InversePropensities {
  const { A, B, numLabels } = validatePropensityOptions(options);
  validateLabelMatrix(trainLabels, "trainLabels");
  const trainRows = trainLabels.rows;
  if (trainRows < 1) throw badInput("trainLabels must have at least one row, but has 0");
  const { indptr, indices } = trainLabels;
  const nnz = indptr[trainRows];
  let length = Math.max(trainLabels.cols, numLabels ?? 0);
  for (let p = 0; p < nnz; p++) if (indices[p] >= length) length = indices[p] + 1;
  if (length > MAX_WEIGHT_TABLE) {
    // 12 bytes per id: renumber sparse label ids densely first (annexml eval does).
    throw new AnnexmlError(
      "TOO_LARGE",
      `label ids must be below ${MAX_WEIGHT_TABLE} for a weight table (12 bytes per id), but one is ${length - 1}; renumber sparse label ids densely first`,
    );
  }

  const counts = new Int32Array(length);
  let maxCount = 0;
  for (let p = 0; p < nnz; p++) {
    const c = ++counts[indices[p]];
    if (c > maxCount) maxCount = c;
  }

  const C = (log(trainRows) - 1) * pow(B + 1, A);
  const unseen = 1 + C * pow(B, -A);
  // Many labels share a frequency; pow is slow-ish, so compute it once per frequency.
  const byCount = new Float64Array(maxCount + 1).fill(Number.NaN);
  byCount[0] = unseen;
  const weights = new Float64Array(length);
  for (let l = 0; l < length; l++) {
    const n = counts[l];
    let w = byCount[n];
    if (Number.isNaN(w)) w = byCount[n] = 1 + C * pow(n + B, -A);
    weights[l] = w;
  }
  return { weights, unseen, trainRows, A, B };
}
