import type { KnnResult, LabelMatrix } from "@annexml/sparse-io";
import { AnnexmlError, badInput } from "@annexml/sparse-io";
import { log } from "./libm.js";
import {
  type EvaluateOptions,
  type PropensityScoredOptions,
  validateEvaluateOptions,
  validatePropensityScoredOptions,
} from "./options.js";
import type { InversePropensities } from "./propensity.js";
import { validateLabelMatrix, validatePredictions } from "./validate.js";

/**
 * P@k and nDCG@k over a set of rows. Entry `i` of each array is the metric
 * at rank `i + 1`, for ranks 1..k. A metric over zero rows is NaN.
 */
export interface RankingMetrics {
  /** Rows evaluated: every row, those without true labels or predictions included. */
  readonly samples: number;
  readonly k: number;
  /** `precision[i]` = P@(i+1) = mean over rows of (hits in the top i+1) / (i+1). */
  readonly precision: Float64Array;
  /** `ndcg[i]` = nDCG@(i+1) = mean over rows of DCG@(i+1) / ideal DCG@(i+1). */
  readonly ndcg: Float64Array;
}

/**
 * PSP@k and PSnDCG@k: ratios of sums over all rows (not means of per-row
 * ratios), as the reference script computes them. Entry `i` is the metric
 * at rank `i + 1`. A ratio with a zero denominator (no true labels
 * anywhere) is NaN.
 */
export interface PropensityScoredMetrics {
  /** Rows evaluated: every row, those without true labels or predictions included. */
  readonly samples: number;
  readonly k: number;
  /** `psp[i]` = (sum of w_l over hits in the top i+1) / (sum of the i+1 largest w_l of each row's truth). */
  readonly psp: Float64Array;
  /** `psndcg[i]` = sum of propensity-weighted DCG@(i+1) / sum of its ideal, each over the row's ideal DCG. */
  readonly psndcg: Float64Array;
}

/**
 * DCG weight of rank i (0-based) = 1 / log2(i + 2), and the cumulative ideal
 * DCG, computed as the script does: `1 / (ln(i + 2) / ln 2)`, summed in
 * order, with correctly rounded logarithms (as CPython's `math.log(x, 2)`).
 */
function dcgTables(k: number): { dcg: Float64Array; idcg: Float64Array } {
  const dcg = new Float64Array(k);
  const idcg = new Float64Array(k);
  dcg[0] = 1;
  idcg[0] = 1;
  const ln2 = log(2);
  for (let i = 1; i < k; i++) {
    dcg[i] = 1 / (log(i + 2) / ln2);
    idcg[i] = idcg[i - 1] + dcg[i];
  }
  return { dcg, idcg };
}

/** 2^28: a 1 GiB scratch table; the largest public label spaces are ~1% of it. */
const MAX_RANKED_LABEL = 2 ** 28;

/**
 * Picks the top `maxK` predictions of a row into `top`, as the scripts rank
 * them. One instance per evaluation: scratch arrays are allocated once and
 * reused for every row.
 */
class Ranker {
  readonly top: Int32Array;
  private readonly topScores: Float64Array;
  /**
   * `lastPosition[id]`: the last entry of the current row that holds `id`.
   * Written for every id of a row before it is read for the same ids, so it
   * never needs clearing (the visited-set idea of hnswlib, without epochs).
   */
  private readonly lastPosition: Int32Array;

  constructor(
    private readonly predictions: KnnResult,
    private readonly maxK: number,
    private readonly sort: boolean,
  ) {
    this.top = new Int32Array(maxK);
    this.topScores = new Float64Array(maxK);
    let maxId = -1;
    if (sort) {
      const { ids, rows, k } = predictions;
      for (let p = 0; p < rows * k; p++) if (ids[p] > maxId) maxId = ids[p];
    }
    if (maxId >= MAX_RANKED_LABEL) {
      throw new AnnexmlError(
        "TOO_LARGE",
        `predicted label ids must be below ${MAX_RANKED_LABEL} to be ranked (4 bytes of scratch per id), but one is ${maxId}`,
      );
    }
    this.lastPosition = new Int32Array(maxId + 1);
  }

  /** Fills `top[0 .. m)` with the ranked label ids of row `r` and returns m <= maxK. */
  rank(r: number): number {
    const { k, ids, scores } = this.predictions;
    const base = r * k;
    const top = this.top;
    const maxK = this.maxK;
    if (!this.sort) {
      let m = 0;
      for (let j = 0; j < k && m < maxK; j++) if (ids[base + j] >= 0) top[m++] = ids[base + j];
      return m;
    }
    // A label listed twice counts once, with its last score (a Python dict).
    const lastPosition = this.lastPosition;
    for (let j = 0; j < k; j++) {
      const id = ids[base + j];
      if (id >= 0) lastPosition[id] = j;
    }
    // Insertion into a top list by score descending, then id ascending.
    const topScores = this.topScores;
    let m = 0;
    for (let j = 0; j < k; j++) {
      const id = ids[base + j];
      if (id < 0 || lastPosition[id] !== j) continue;
      const score = scores[base + j];
      if (Number.isNaN(score)) {
        throw badInput(`predictions.scores of row ${r}, entry ${j} (label ${id}) is NaN`);
      }
      let p: number;
      if (m < maxK) {
        p = m++;
      } else {
        const worst = topScores[maxK - 1];
        if (score < worst || (score === worst && id > top[maxK - 1])) continue;
        p = maxK - 1;
      }
      while (p > 0) {
        const s = topScores[p - 1];
        if (score < s || (score === s && id > top[p - 1])) break;
        topScores[p] = s;
        top[p] = top[p - 1];
        p--;
      }
      topScores[p] = score;
      top[p] = id;
    }
    return m;
  }
}

/** Whether the sorted `indices[from .. to)` contain `id`. */
function contains(indices: Int32Array, from: number, to: number, id: number): boolean {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = indices[mid];
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/**
 * P@k and nDCG@k of `predictions` against `truth` (row `r` of one against
 * row `r` of the other), bit-compatible with the reference script
 * `learning-evaluate_predictions.py` (same operations in the same order).
 *
 * - Every row counts in the means. A row without true labels or without
 *   predictions has no hits (the script skips its line but counts it).
 * - Predictions are ranked by score descending, then label id ascending
 *   (see {@link EvaluateOptions.sort}); ids below 0 are missing entries and
 *   ignored wherever they are; rows may have fewer than k predictions.
 * - DCG weights 1/log2(rank + 1); the ideal DCG of a row counts
 *   min(rank, |truth|) hits.
 *
 * Cost: O(rows * predictions.k) time plus 4 bytes of scratch per label id
 * up to the largest predicted one (ids must be below 2^28 when sorting).
 * Throws an `AnnexmlError`: `BAD_OPTION` for bad options, `BAD_INPUT` for
 * mismatched or malformed inputs or a NaN score of a prediction that is
 * ranked, `TOO_LARGE` for a predicted label id beyond the ranking limit.
 */
export function evaluate(
  truth: LabelMatrix,
  predictions: KnnResult,
  options: EvaluateOptions = {},
): RankingMetrics {
  const { k: maxK, sort } = validateEvaluateOptions(options);
  validateLabelMatrix(truth, "truth");
  validatePredictions(predictions, truth.rows);
  const { dcg, idcg } = dcgTables(maxK);
  const ranker = new Ranker(predictions, maxK, sort);
  const top = ranker.top;
  const { rows, indptr, indices } = truth;

  const hits = new Float64Array(maxK);
  const ndcgSums = new Float64Array(maxK);
  const rowDcg = new Float64Array(maxK);
  for (let r = 0; r < rows; r++) {
    const from = indptr[r];
    const to = indptr[r + 1];
    if (to === from) continue;
    const m = ranker.rank(r);
    if (m === 0) continue;
    rowDcg.fill(0);
    for (let i = 0; i < m; i++) {
      if (contains(indices, from, to, top[i])) {
        hits[i] += 1;
        rowDcg[i] = dcg[i];
      }
    }
    addNormalisedDcg(rowDcg, idcg, to - from - 1, ndcgSums);
  }

  const precision = new Float64Array(maxK);
  const ndcg = new Float64Array(maxK);
  let hitSum = 0;
  for (let i = 0; i < maxK; i++) {
    hitSum += hits[i];
    precision[i] = hitSum / rows / (i + 1);
    ndcg[i] = ndcgSums[i] / rows;
  }
  return { samples: rows, k: maxK, precision, ndcg };
}

/**
 * PSP@k and PSnDCG@k of `predictions` against `truth` with the label
 * weights of {@link inversePropensities}, bit-compatible with the reference
 * script `learning-evaluate_predictions_propensity_scored.py`.
 *
 * Numerator: the weights of the hits in each row's top k (weighted by the
 * DCG weight of their rank for PSnDCG). Denominator: each row's k largest
 * true-label weights at ranks 1..k, the best any ranking could do. Both are
 * summed over rows before dividing. Ranking, missing entries and short rows
 * as in {@link evaluate}; a predicted label unknown to training weighs
 * `unseen` (the script would crash). A row without true labels adds
 * nothing; a row with true labels but no prediction adds nothing either by
 * default, as in the script (see
 * {@link PropensityScoredOptions.includeUnpredictedRows}).
 */
export function evaluatePropensityScored(
  truth: LabelMatrix,
  predictions: KnnResult,
  propensities: InversePropensities,
  options: PropensityScoredOptions = {},
): PropensityScoredMetrics {
  const { k: maxK, sort, includeUnpredictedRows } = validatePropensityScoredOptions(options);
  validateLabelMatrix(truth, "truth");
  validatePredictions(predictions, truth.rows);
  const { dcg, idcg } = dcgTables(maxK);
  const ranker = new Ranker(predictions, maxK, sort);
  const top = ranker.top;
  const { rows, indptr, indices } = truth;
  const { weights, unseen } = propensities;
  const known = weights.length;

  const hitWeights = new Float64Array(maxK);
  const idealWeights = new Float64Array(maxK);
  const dcgSums = new Float64Array(maxK);
  const idealDcgSums = new Float64Array(maxK);
  const rowDcg = new Float64Array(maxK);
  const ideal = new Float64Array(maxK);
  for (let r = 0; r < rows; r++) {
    const from = indptr[r];
    const to = indptr[r + 1];
    if (to === from) continue;
    const m = ranker.rank(r);
    if (m === 0 && !includeUnpredictedRows) continue;
    const last = to - from - 1;

    rowDcg.fill(0);
    for (let i = 0; i < m; i++) {
      const id = top[i];
      if (contains(indices, from, to, id)) {
        const w = id < known ? weights[id] : unseen;
        hitWeights[i] += w;
        rowDcg[i] = w * dcg[i];
      }
    }
    addNormalisedDcg(rowDcg, idcg, last, dcgSums);

    // The row's maxK largest true-label weights, descending (equal weights
    // are interchangeable, so the order among them does not matter).
    let c = 0;
    for (let p = from; p < to; p++) {
      const id = indices[p];
      const w = id < known ? weights[id] : unseen;
      if (c === maxK && !(w > ideal[maxK - 1])) continue;
      let q = c < maxK ? c++ : maxK - 1;
      while (q > 0 && w > ideal[q - 1]) {
        ideal[q] = ideal[q - 1];
        q--;
      }
      ideal[q] = w;
    }
    rowDcg.fill(0);
    for (let i = 0; i < c; i++) {
      idealWeights[i] += ideal[i];
      rowDcg[i] = ideal[i] * dcg[i];
    }
    addNormalisedDcg(rowDcg, idcg, last, idealDcgSums);
  }

  const psp = new Float64Array(maxK);
  const psndcg = new Float64Array(maxK);
  let hitSum = 0;
  let idealSum = 0;
  for (let i = 0; i < maxK; i++) {
    hitSum += hitWeights[i];
    idealSum += idealWeights[i];
    psp[i] = hitSum / idealSum;
    psndcg[i] = dcgSums[i] / idealDcgSums[i];
  }
  return { samples: rows, k: maxK, psp, psndcg };
}

/**
 * Adds a row's DCG@1..maxK (prefix sums of `rowDcg`) divided by its ideal
 * DCG to `sums`; a row with `last + 1` true labels has the ideal DCG
 * `idcg[min(i, last)]` at rank i.
 */
function addNormalisedDcg(
  rowDcg: Float64Array,
  idcg: Float64Array,
  last: number,
  sums: Float64Array,
): void {
  let sum = 0;
  for (let i = 0; i < sums.length; i++) {
    sum += rowDcg[i];
    sums[i] += sum / idcg[Math.min(i, last)];
  }
}
