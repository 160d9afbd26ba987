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
