import { badInput, badOption, type KnnResult, type LabelMatrix, TopK } from "@annexml/sparse-io";

/**
 * Options of the label-overlap kNN graph (ALGORITHM.md section 1).
 */
export interface LabelKnnOptions {
  /** Neighbours per row (`num_nn`). Default 10. */
  k?: number;
  /**
   * Weigh a neighbour j's shared labels by `1 / |Y_j|` (`label_normalize = 1`);
   * when false every shared label weighs 1. Default true.
   */
  labelNormalize?: boolean;
  /**
   * Build the graph among these rows only (global row ids into `labels`). The
   * result then speaks of LOCAL positions `0 .. rows.length - 1`. A row id
   * listed twice is two distinct local rows. Default: all rows.
   */
  rows?: Int32Array;
  /**
   * Head-label pruning budget per row (the original's min-cut partitioner
   * uses 5000); see {@link pruneThreshold}. `0` (the default) disables
   * pruning.
   */
  pruneBudget?: number;
  /**
   * When a row has at least one but fewer than k positive-score neighbours,
   * repeat the found ones cyclically to fill all k slots (the original's
   * "amplification"). When false the missing slots hold id -1, score 0.
   * Default true.
   */
  amplify?: boolean;
}

/** The defaults of {@link LabelKnnOptions} (those of the original program). */
export const DEFAULT_LABEL_KNN_OPTIONS: Readonly<Required<Omit<LabelKnnOptions, "rows">>> =
  Object.freeze({ k: 10, labelNormalize: true, pruneBudget: 0, amplify: true });

/**
 * A label-overlap kNN graph: a {@link KnnResult} over local row positions
 * plus what the build found.
 *
 * Invariants: `ids.length === scores.length === rows * k`; the record of row
 * i lists distinct rows other than i, best first (score descending, then
 * local id ascending), except that an amplified record repeats its `found[i]`
 * distinct neighbours cyclically; a row without any positive-score neighbour
 * has every id `-1` and every score `0`.
 */
export interface LabelKnnGraph extends KnnResult {
  /** Distinct positive-score neighbours kept per row, before amplification: `min(k, #candidates)`. */
  readonly found: Int32Array;
  /**
   * Posting lists longer than this were skipped when scoring
   * (`Infinity` when nothing was pruned).
   */
  readonly pruneThreshold: number;
}

/**
 * Checks label kNN options and throws an `AnnexmlError` `BAD_OPTION` naming
 * the bad value. `labelRows` (the row count of the label matrix) enables the
 * range check of `rows`.
 */
export function validateLabelKnnOptions(options: LabelKnnOptions, labelRows?: number): void {
  const { k, labelNormalize, rows, pruneBudget, amplify } = options;
  if (k !== undefined && !(Number.isSafeInteger(k) && k > 0)) {
    throw badOption(`k must be a positive integer, but is ${k}`);
  }
  if (labelNormalize !== undefined && typeof labelNormalize !== "boolean") {
    throw badOption(`labelNormalize must be a boolean, but is ${String(labelNormalize)}`);
  }
  if (amplify !== undefined && typeof amplify !== "boolean") {
    throw badOption(`amplify must be a boolean, but is ${String(amplify)}`);
  }
  if (
    pruneBudget !== undefined &&
    !(typeof pruneBudget === "number" && pruneBudget >= 0 && Number.isFinite(pruneBudget))
  ) {
    throw badOption(
      `pruneBudget must be a finite non-negative number, but is ${String(pruneBudget)}`,
    );
  }
  if (rows !== undefined) {
    if (!(rows instanceof Int32Array)) {
      throw badOption("rows must be an Int32Array of row ids");
    }
    if (labelRows !== undefined) {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        if (r < 0 || r >= labelRows) {
          throw badOption(`rows[${i}] must be a row id in [0, ${labelRows}), but is ${r}`);
        }
      }
    }
  }
}

/**
 * The head-label pruning threshold of the original (its `get_positives`):
 * walk the posting-list lengths `n_l` in ascending order, adding
 * `n_l^2 - n_l` (the pairs a list produces) to a running cost; the threshold
 * is the length of the LAST list added while the cost stays `<= rowCount *
 * budget`, i.e. the walk stops at the first list whose addition would exceed
 * the budget. Posting lists with length `> threshold` are skipped when
 * scoring; lists as long as the threshold are all kept, even those after the
 * stopping point, so the real cost may exceed the budget by a few lists of
 * the threshold's length (as in the original).
 *
 * Returns `Infinity` when every list fits (nothing pruned) or when `budget`
 * is 0 (pruning disabled). Lists of at most one row produce no pairs, so the
 * threshold is at least 1. (The original keeps every list when even the
 * shortest one breaks the budget; here they are all skipped instead.)
 *
 * `lengths` is sorted in place (pass a copy to keep it).
 */
export function pruneThreshold(lengths: Int32Array, rowCount: number, budget: number): number {
  if (!(budget > 0)) return Number.POSITIVE_INFINITY;
  lengths.sort();
  const limit = rowCount * budget;
  let cost = 0;
  let threshold = 1;
  for (let i = 0; i < lengths.length; i++) {
    const len = lengths[i];
    cost += len * len - len;
    if (cost > limit) return threshold;
    if (len > threshold) threshold = len;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * A row whose used posting lists sum to more than `n / DENSE_SCAN_FACTOR`
 * entries is scored by scanning all n counters instead of a touched-list.
 */
const DENSE_SCAN_FACTOR = 4;

/** Slack of the reciprocal screen, far above the rounding of `c * (1 / size)` and of Float32. */
const SCREEN_MARGIN = 1 - 1e-6;

/**
 * Builds label-overlap kNN graphs, keeping its scratch buffers between calls
 * (the embedding stage builds one graph per partition): the label map is
 * sized by the label space, the rest by the largest row set seen. Not
 * re-entrant; one builder per thread.
 *
 * Method: a CSR inverted index label -> local rows over the selected rows,
 * an `Int32Array` counter of shared labels per candidate row with a
 * touched-list (no hash maps, nothing allocated per row), then a bounded
 * heap selection over the touched rows. Cost per row: the summed lengths of
 * its (unpruned) posting lists, plus the number of distinct rows touched.
 */
export class LabelKnnGraphBuilder {
  private labelMap = new Int32Array(0);
  private localPtr = new Int32Array(1);
  private localLabels = new Int32Array(0);
  private postingPtr = new Int32Array(1);
  private posting = new Int32Array(0);
  private usedLabels = new Int32Array(0);
  private rowSize = new Int32Array(0);
  private inverseSize = new Float64Array(0);
  private counts = new Int32Array(0);
  private touched = new Int32Array(0);
  private readonly top = new TopK(0);

  /**
   * The label-overlap kNN graph of the selected rows: for each row i the k
   * rows j != i of highest `score(i, j) = sum over l in Y_i ∩ Y_j of w_j`,
   * `w_j = 1 / |Y_j|` (labelNormalize) or 1.
   *
   * Scores are computed as `(shared labels) / |Y_j|` (one correctly rounded
   * division, so equal fractions compare equal) and rounded to Float32
   * before ranking; equal Float32 scores go to the lower local id. Rows
   * without positives get ids -1.
   *
   * @throws AnnexmlError `BAD_OPTION` on bad options, `BAD_INPUT` on a malformed matrix.
   */
  build(labels: LabelMatrix, options: LabelKnnOptions = {}): LabelKnnGraph {
    validateLabelMatrixShape(labels);
    validateLabelKnnOptions(options, labels.rows);
    const k = options.k ?? DEFAULT_LABEL_KNN_OPTIONS.k;
    const normalize = options.labelNormalize ?? DEFAULT_LABEL_KNN_OPTIONS.labelNormalize;
    const amplify = options.amplify ?? DEFAULT_LABEL_KNN_OPTIONS.amplify;
    const budget = options.pruneBudget ?? DEFAULT_LABEL_KNN_OPTIONS.pruneBudget;
    const subset = options.rows;
    const n = subset === undefined ? labels.rows : subset.length;

    const numLocalLabels = this.index(labels, subset, n);
    const threshold = this.threshold(numLocalLabels, n, budget);

    const ids = new Int32Array(n * k).fill(-1);
    const scores = new Float32Array(n * k);
    const found = new Int32Array(n);
    const {
      localPtr,
      localLabels,
      postingPtr,
      posting,
      rowSize,
      inverseSize,
      counts,
      touched,
      top,
    } = this;

    for (let i = 0; i < n; i++) {
      // Upper bound of the candidates: the summed lengths of the lists used.
      let work = 0;
      for (let p = localPtr[i], end = localPtr[i + 1]; p < end; p++) {
        const len = postingPtr[localLabels[p] + 1] - postingPtr[localLabels[p]];
        if (len <= threshold) work += len;
      }
      top.reset(k);
      if (work * DENSE_SCAN_FACTOR > n) {
        // Many candidates: count without a touched-list, then scan the
        // counters in id order (cheaper than a branchy touched-list when
        // most rows are hit, as with head labels).
        for (let p = localPtr[i], end = localPtr[i + 1]; p < end; p++) {
          const l = localLabels[p];
          const from = postingPtr[l];
          const to = postingPtr[l + 1];
          if (to - from > threshold) continue;
          for (let q = from; q < to; q++) counts[posting[q]]++;
        }
        counts[i] = 0;
        // Branch-free over all n counters (a zero count scores 0, and a row
        // without labels NaN, neither of which passes `> worst >= 0`). A cheap
        // product with the reciprocal screens each row; the exact quotient
        // decides. Ascending ids: an equal score never displaces a held
        // (lower) id, so only a strictly better score enters the heap.
        let worst = 0;
        let screen = 0;
        for (let j = 0; j < n; j++) {
          const c = counts[j];
          counts[j] = 0;
          if ((normalize ? c * inverseSize[j] : c) > screen) {
            const score = normalize ? Math.fround(c / rowSize[j]) : c;
            if (score > worst) {
              top.push(j, score);
              worst = Math.max(0, top.threshold());
              screen = worst * SCREEN_MARGIN;
            }
          }
        }
      } else {
        // Few candidates: remember each once in the touched-list.
        let numTouched = 0;
        for (let p = localPtr[i], end = localPtr[i + 1]; p < end; p++) {
          const l = localLabels[p];
          const from = postingPtr[l];
          const to = postingPtr[l + 1];
          if (to - from > threshold) continue;
          for (let q = from; q < to; q++) {
            const j = posting[q];
            if (counts[j]++ === 0) touched[numTouched++] = j;
          }
        }
        // Select the k best, clearing the counters as they are read.
        let worst = Number.NEGATIVE_INFINITY;
        for (let t = 0; t < numTouched; t++) {
          const j = touched[t];
          const c = counts[j];
          counts[j] = 0;
          if (j === i) continue;
          const score = normalize ? Math.fround(c / rowSize[j]) : c;
          // Any order: an equal score may still win on a lower id.
          if (score >= worst) {
            top.push(j, score);
            worst = top.threshold();
          }
        }
      }
      const offset = i * k;
      const m = top.drainSorted(ids, scores, offset);
      found[i] = m;
      if (m > 0 && m < k && amplify) {
        for (let s = m; s < k; s++) {
          ids[offset + s] = ids[offset + (s % m)];
          scores[offset + s] = scores[offset + (s % m)];
        }
      }
    }
    return { rows: n, k, ids, scores, found, pruneThreshold: threshold };
  }

  /**
   * Fills the local CSR of the selected rows' labels (renumbered densely in
   * order of first use, so only labels of the selected rows get a posting
   * list, whatever the size of the label space) and its transpose; returns
   * the local label count. Checks label ranges and per-row order on the way.
   */
  private index(labels: LabelMatrix, subset: Int32Array | undefined, n: number): number {
    const { indptr, indices, cols } = labels;
    if (this.labelMap.length < cols) this.labelMap = new Int32Array(cols).fill(-1);
    if (this.rowSize.length < n) {
      this.rowSize = new Int32Array(n);
      this.inverseSize = new Float64Array(n);
      this.counts = new Int32Array(n);
      this.touched = new Int32Array(n);
    }
    if (this.localPtr.length < n + 1) this.localPtr = new Int32Array(n + 1);
    const { labelMap, rowSize, inverseSize, localPtr } = this;

    let nnz = 0;
    for (let i = 0; i < n; i++) {
      const r = subset === undefined ? i : subset[i];
      const size = indptr[r + 1] - indptr[r];
      if (!(size >= 0)) throw badInput(`labels.indptr decreases at row ${r}`);
      rowSize[i] = size;
      inverseSize[i] = 1 / size;
      nnz += size;
      localPtr[i + 1] = nnz;
    }
    if (this.localLabels.length < nnz) {
      this.localLabels = new Int32Array(nnz);
      this.posting = new Int32Array(nnz);
      this.usedLabels = new Int32Array(nnz);
    }
    const maxLocal = Math.min(nnz, cols);
    if (this.postingPtr.length < maxLocal + 1) this.postingPtr = new Int32Array(maxLocal + 1);
    const { localLabels, posting, usedLabels, postingPtr } = this;

    let numLocal = 0;
    let p = 0;
    for (let i = 0; i < n; i++) {
      const r = subset === undefined ? i : subset[i];
      let previous = -1;
      for (let q = indptr[r], end = indptr[r + 1]; q < end; q++) {
        const l = indices[q];
        if (!(l > previous && l < cols)) {
          for (let u = 0; u < numLocal; u++) labelMap[usedLabels[u]] = -1;
          throw badInput(
            `labels row ${r} must hold sorted unique label ids in [0, ${cols}), but has ${l} after ${previous}`,
          );
        }
        previous = l;
        let local = labelMap[l];
        if (local < 0) {
          local = labelMap[l] = numLocal;
          usedLabels[numLocal] = l;
          postingPtr[++numLocal] = 0;
        }
        localLabels[p++] = local;
        postingPtr[local + 1]++;
      }
    }
    // Leave the map all -1 for the next build.
    for (let u = 0; u < numLocal; u++) labelMap[usedLabels[u]] = -1;
    // Transpose. Starts by prefix sum; postingPtr[l] then serves as the
    // write cursor of list l and is shifted back afterwards. Rows are
    // visited in order, so every posting list comes out sorted.
    postingPtr[0] = 0;
    for (let l = 0; l < numLocal; l++) postingPtr[l + 1] += postingPtr[l];
    for (let i = 0; i < n; i++) {
      for (let q = localPtr[i], end = localPtr[i + 1]; q < end; q++) {
        posting[postingPtr[localLabels[q]]++] = i;
      }
    }
    for (let l = numLocal; l > 0; l--) postingPtr[l] = postingPtr[l - 1];
    postingPtr[0] = 0;
    return numLocal;
  }

  private threshold(numLocalLabels: number, n: number, budget: number): number {
    if (!(budget > 0)) return Number.POSITIVE_INFINITY;
    const lengths = new Int32Array(numLocalLabels);
    const { postingPtr } = this;
    for (let l = 0; l < numLocalLabels; l++) lengths[l] = postingPtr[l + 1] - postingPtr[l];
    return pruneThreshold(lengths, n, budget);
  }
}

function validateLabelMatrixShape(labels: LabelMatrix): void {
  if (!(labels.indptr instanceof Int32Array) || !(labels.indices instanceof Int32Array)) {
    throw badInput("labels: indptr and indices must be Int32Arrays");
  }
  if (!Number.isSafeInteger(labels.rows) || labels.rows < 0) {
    throw badInput(`labels.rows must be a non-negative integer, but is ${labels.rows}`);
  }
  if (labels.indptr.length !== labels.rows + 1) {
    throw badInput(
      `labels.indptr must have rows + 1 = ${labels.rows + 1} entries, but has ${labels.indptr.length}`,
    );
  }
}

/**
 * The label-overlap kNN graph ("positives", ALGORITHM.md section 1) of all
 * rows of `labels` or of `options.rows`. See
 * {@link LabelKnnGraphBuilder.build}; use a builder to reuse scratch across
 * many calls.
 */
export function labelKnnGraph(labels: LabelMatrix, options: LabelKnnOptions = {}): LabelKnnGraph {
  return new LabelKnnGraphBuilder().build(labels, options);
}
