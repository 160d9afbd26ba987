/**
 * Per-label sparse linear scorers, stored as a CSR matrix over labels: label
 * `l`'s weights are `weights[indptr[l] .. indptr[l + 1])` on the feature ids
 * `indices[...]` (ascending), plus `bias[l]`. A label without a scorer (no
 * positive) has no weights and bias -1.
 */
export interface RerankerArrays {
  /** Labels scored (rows of the CSR). */
  labels: number;
  /** Feature ids are below this. */
  features: number;
  indptr: Int32Array;
  indices: Int32Array;
  weights: Float32Array;
  bias: Float32Array;
  /**
   * The score weight chosen at training on held-out training rows (see
   * {@link chooseRerankWeight}); prediction's default. Absent: 0.5.
   */
  weight?: number;
}

/**
 * Scores `count` labels of `labels` from `from` into `out[from ..]`: `out[j]
 * = bias[l] + sum_f w_l[f] x[f]`, `x` the query row scattered into the
 * dense `x` (length `features`, zero where the row has no value). Pure: no
 * allocation; the caller scatters and clears `x`.
 */
export function scoreShortlistImpl(
  arrays: RerankerArrays,
  x: Float32Array,
  labels: Int32Array,
  from: number,
  count: number,
  out: Float32Array,
): void {
  const { indptr, indices, weights, bias } = arrays;
  for (let j = from; j < from + count; j++) {
    const l = labels[j];
    let s = 0;
    const end = indptr[l + 1];
    for (let p = indptr[l]; p < end; p++) s += weights[p] * x[indices[p]];
    out[j] = s + bias[l];
  }
}

/**
 * The re-ranked score of a shortlisted label (higher is better): `(1 - a)
 * ln(vote / topVote) + a ln p` with `p = exp(-max(0, 1 - margin)^2)`, the
 * squared-hinge scorer's pseudo-probability (as Parabel / Bonsai turn a
 * margin into a probability). `vote > 0`, `topVote >= vote`.
 */
export function combineScore(vote: number, topVote: number, margin: number, a: number): number {
  const h = margin < 1 ? 1 - margin : 0;
  return (1 - a) * Math.log(vote / topVote) - a * h * h;
}

/** The weights {@link chooseRerankWeight} tries. */
export const RERANK_WEIGHT_GRID: readonly number[] = Object.freeze([
  0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
]);

/**
 * The weight `a` of {@link combineScore} (from `grid`) that ranks the true
 * labels of the `heldOut` rows best: the largest P@1 + P@3 + P@5 of the
 * re-ranked shortlists (ties to the earlier weight). `scorers` must not have
 * been trained on those rows; `shortlist` holds each row's vote shortlist
 * (ids -1 padded, votes in `scores`, best first). Returns the weight and the
 * sum per weight (`(P@1 + P@3 + P@5) x rows`).
 */
export function chooseRerankWeight(
  scorers: RerankerArrays,
  features: { indptr: Int32Array; indices: Int32Array; values: Float32Array },
  labels: { indptr: Int32Array; indices: Int32Array },
  shortlist: { k: number; ids: Int32Array; scores: Float32Array },
  heldOut: Int32Array,
  grid: readonly number[] = RERANK_WEIGHT_GRID,
): { weight: number; totals: Float64Array } {
  const c = shortlist.k;
  const x = new Float32Array(scorers.features);
  const margins = new Float32Array(c);
  const combined = new Float64Array(c);
  const truth = new Uint8Array(scorers.labels);
  const totals = new Float64Array(grid.length);
  for (const r of heldOut) {
    const at = r * c;
    let count = 0;
    while (count < c && shortlist.ids[at + count] >= 0) count++;
    if (count === 0) continue;
    for (let p = features.indptr[r]; p < features.indptr[r + 1]; p++)
      x[features.indices[p]] = features.values[p];
    scoreShortlistImpl(scorers, x, shortlist.ids.subarray(at, at + count), 0, count, margins);
    for (let p = features.indptr[r]; p < features.indptr[r + 1]; p++) x[features.indices[p]] = 0;
    for (let p = labels.indptr[r]; p < labels.indptr[r + 1]; p++) truth[labels.indices[p]] = 1;
    const top = shortlist.scores[at];
    for (let g = 0; g < grid.length; g++) {
      for (let j = 0; j < count; j++)
        combined[j] = combineScore(shortlist.scores[at + j], top, margins[j], grid[g]);
      // The 5 best by selection (ties to the lower label id).
      let hits = 0;
      let sum = 0;
      for (let rank = 0; rank < Math.min(5, count); rank++) {
        let best = -1;
        for (let j = 0; j < count; j++) {
          if (Number.isNaN(combined[j])) continue;
          if (
            best < 0 ||
            combined[j] > combined[best] ||
            (combined[j] === combined[best] && shortlist.ids[at + j] < shortlist.ids[at + best])
          )
            best = j;
        }
        if (truth[shortlist.ids[at + best]] === 1) hits++;
        combined[best] = Number.NaN;
        if (rank === 0) sum += hits;
        if (rank === 2) sum += hits / 3;
        if (rank === 4) sum += hits / 5;
      }
      if (count < 3) sum += hits / 3;
      if (count < 5) sum += hits / 5;
      totals[g] += sum;
    }
    for (let p = labels.indptr[r]; p < labels.indptr[r + 1]; p++) truth[labels.indices[p]] = 0;
  }
  let g = 0;
  for (let i = 1; i < grid.length; i++) if (totals[i] > totals[g]) g = i;
  return { weight: grid[g], totals };
}
