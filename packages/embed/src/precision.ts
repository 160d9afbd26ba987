import { badInput, badOption, type DenseMatrix, type LabelMatrix, TopK } from "@annexml/sparse-io";

/** Options of {@link knnVotePrecision}. */
export interface KnnVoteOptions {
  /** Neighbours per query (num_nn). Default 10. */
  k?: number;
  /** Precision depths reported, P@1..P@top. Default 5. */
  top?: number;
  /**
   * Skip base row i for query i (queries and base are the same rows, as in
   * the trainer's diagnostic). Default false.
   */
  excludeSelf?: boolean;
}

/** Defaults of {@link KnnVoteOptions}. */
export const DEFAULT_KNN_VOTE_OPTIONS: Readonly<Required<KnnVoteOptions>> = Object.freeze({
  k: 10,
  top: 5,
  excludeSelf: false,
});

/** Checks {@link KnnVoteOptions}, naming the bad value; returns them with defaults. */
export function validateKnnVoteOptions(options: KnnVoteOptions = {}): Required<KnnVoteOptions> {
  const o = {
    k: options.k ?? DEFAULT_KNN_VOTE_OPTIONS.k,
    top: options.top ?? DEFAULT_KNN_VOTE_OPTIONS.top,
    excludeSelf: options.excludeSelf ?? DEFAULT_KNN_VOTE_OPTIONS.excludeSelf,
  };
  if (!Number.isInteger(o.k) || o.k < 1) {
    throw badOption(`k must be a positive integer, but is ${o.k}`);
  }
  if (!Number.isInteger(o.top) || o.top < 1) {
    throw badOption(`top must be a positive integer, but is ${o.top}`);
  }
  return o;
}

/**
 * P@1..P@top of brute-force kNN voting (ALGORITHM.md section 5 with
 * pred_type 0): for every query row, the k base rows of highest inner
 * product (ties: lower base row), each giving one vote to each of its
 * labels; labels ranked by votes (ties: lower label id). P@t is the number
 * of true labels among the first t, summed over queries, divided by
 * `queries.rows * t` (rows with fewer labels still count fully).
 *
 * With unit embeddings this is cosine similarity. Exact O(queries x base x
 * cols); meant for diagnostics and tests, not for serving.
 */
export function knnVotePrecision(
  queries: DenseMatrix,
  queryLabels: LabelMatrix,
  base: DenseMatrix,
  baseLabels: LabelMatrix,
  options?: KnnVoteOptions,
): Float64Array {
  const { k, top, excludeSelf } = validateKnnVoteOptions(options);
  if (queryLabels.rows !== queries.rows) {
    throw badInput(
      `queryLabels must have ${queries.rows} rows (one per query), but has ${queryLabels.rows}`,
    );
  }
  if (baseLabels.rows !== base.rows) {
    throw badInput(
      `baseLabels must have ${base.rows} rows (one per base row), but has ${baseLabels.rows}`,
    );
  }
  if (queries.cols !== base.cols) {
    throw badInput(`queries have ${queries.cols} columns but base rows have ${base.cols}`);
  }
  if (excludeSelf && queries.rows !== base.rows) {
    throw badOption("excludeSelf needs queries and base of the same rows");
  }
  const cols = queries.cols;
  const qData = queries.data;
  const qStride = queries.stride;
  const bData = base.data;
  const bStride = base.stride;
  const heap = new TopK(k);
  const ids = new Int32Array(k);
  const scores = new Float64Array(k);
  const labelTop = new TopK(top);
  const labelIds = new Int32Array(top);
  const labelScores = new Float64Array(top);
  const votes = new Int32Array(Math.max(baseLabels.cols, 1));
  const touched = new Int32Array(Math.max(baseLabels.cols, 1));
  const hits = new Float64Array(top);
  for (let i = 0; i < queries.rows; i++) {
    heap.reset();
    const qo = i * qStride;
    for (let j = 0; j < base.rows; j++) {
      if (excludeSelf && j === i) continue;
      const bo = j * bStride;
      let s0 = 0;
      let s1 = 0;
      let d = 0;
      for (; d + 1 < cols; d += 2) {
        s0 += qData[qo + d] * bData[bo + d];
        s1 += qData[qo + d + 1] * bData[bo + d + 1];
      }
      if (d < cols) s0 += qData[qo + d] * bData[bo + d];
      const score = s0 + s1;
      // Ties keep the lower row (rows arrive ascending), so only a strictly
      // better score can enter a full heap.
      if (score > heap.threshold()) heap.push(j, score);
    }
    const found = heap.drainSorted(ids, scores);
    let numTouched = 0;
    for (let n = 0; n < found; n++) {
      const j = ids[n];
      for (let p = baseLabels.indptr[j]; p < baseLabels.indptr[j + 1]; p++) {
        const l = baseLabels.indices[p];
        if (votes[l]++ === 0) touched[numTouched++] = l;
      }
    }
    labelTop.reset();
    for (let t = 0; t < numTouched; t++) {
      const l = touched[t];
      labelTop.push(l, votes[l]);
      votes[l] = 0;
    }
    const ranked = labelTop.drainSorted(labelIds, labelScores);
    const from = queryLabels.indptr[i];
    const to = queryLabels.indptr[i + 1];
    for (let r = 0; r < ranked; r++) {
      if (contains(queryLabels.indices, from, to, labelIds[r])) hits[r]++;
    }
  }
  const precision = new Float64Array(top);
  let cumulative = 0;
  for (let t = 0; t < top; t++) {
    cumulative += hits[t];
    precision[t] = queries.rows === 0 ? 0 : cumulative / queries.rows / (t + 1);
  }
  return precision;
}

/** Binary search of a sorted run `a[from..to)`. */
function contains(a: Int32Array, from: number, to: number, value: number): boolean {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo < to && a[lo] === value;
}
