import type { CsrMatrix } from "@annexml/sparse-io";
import { accumulateInvertedScores } from "./model.js";
import type { PartitionArrays } from "./types.js";

/**
 * Capacity of a part when `balance` bounds the largest of `k` parts over `n`
 * rows to `balance x n / k` rows (never below the even share, so `k *
 * capacity >= n`); `n` (no bound) when `balance` is 0.
 */
export function partCapacity(n: number, k: number, balance: number): number {
  if (!(balance > 0) || k <= 1) return n;
  return Math.min(n, Math.max(Math.ceil(n / k), Math.ceil((balance * n) / k)));
}

/** The largest float32 strictly below `x` (x finite). */
function float32Below(x: number): number {
  const f = Math.fround(x);
  if (f < x) return f;
  const box = new Float32Array(1);
  const bits = new Int32Array(box.buffer);
  box[0] = f;
  if (f === 0)
    bits[0] = 0x80000001; // -min subnormal
  else if (f > 0) bits[0]--;
  else bits[0]++;
  return box[0];
}

/**
 * Per-part biases `b` (float32, <= 0) such that sending each row `i` to
 * `argmax_c (scores[i k + c] + b_c)` (lowest c on ties, the prediction-time
 * rule) leaves at most `capacity` rows in every part, found by lowering the
 * bias of each over-full part just enough to push its least attached rows
 * (smallest margin over their second choice) out, and repeating while a
 * move over-fills another part (at most `maxRounds` rounds; the biases only
 * ever decrease, a part under capacity is never lowered, and the least step
 * doubles every round, so the rows drain into the parts that have room).
 * Deterministic. Returns zeros when nothing is over capacity. A learned bias, stored with the centres, is what
 * keeps a test row on the same rule as the training rows: a balanced
 * training-time assignment alone would send test rows elsewhere.
 *
 * `scores`: row-major `n x k`, the exact `<x_i, c_c>` that `assign` sums.
 */
export function balanceBiases(
  scores: Float64Array,
  n: number,
  k: number,
  capacity: number,
  maxRounds = 20 + 2 * k,
): Float32Array {
  const bias = new Float32Array(k);
  if (k <= 1 || capacity >= n) return bias;
  const best = new Int32Array(n);
  const sizes = new Int32Array(k);
  const members = new Int32Array(n);
  const margins = new Float64Array(n);
  // Row i's best part under the current biases; returns its margin over the second.
  const choose = (i: number): number => {
    const base = i * k;
    let b = 0;
    let top = scores[base] + bias[0];
    let next = Number.NEGATIVE_INFINITY;
    for (let c = 1; c < k; c++) {
      const s = scores[base + c] + bias[c];
      if (s > top) {
        next = top;
        top = s;
        b = c;
      } else if (s > next) next = s;
    }
    best[i] = b;
    return top - next;
  };
  for (let i = 0; i < n; i++) {
    choose(i);
    sizes[best[i]]++;
  }
  let floor = 1e-7;
  for (let round = 0; round < maxRounds; round++, floor *= 2) {
    let over = false;
    // One over-full part at a time, so each sees the exact sizes the moves before it left.
    for (let c = 0; c < k; c++) {
      const excess = sizes[c] - capacity;
      if (excess <= 0) continue;
      over = true;
      let m = 0;
      for (let i = 0; i < n; i++) {
        if (best[i] !== c) continue;
        members[m] = i;
        margins[m++] = choose(i);
      }
      // The excess-th smallest margin: lowering the bias past it moves (at
      // least) that many rows to their second choice. A floor on the step
      // moves scores equal up to rounding too; it doubles every round, so
      // rows that bounce between full parts are pushed out for good.
      const cut = margins.subarray(0, m).sort()[excess - 1];
      bias[c] = float32Below(bias[c] - cut - floor * (1 + Math.abs(bias[c])));
      // Every member is re-chosen: the step's floor can move a few with a
      // margin just above the cut too.
      for (let t = 0; t < m; t++) {
        const i = members[t];
        choose(i);
        if (best[i] !== c) {
          sizes[c]--;
          sizes[best[i]]++;
        }
      }
    }
    if (!over) break;
  }
  return bias;
}

/**
 * Scores of rows `rows` (all rows when omitted) of `x` against the centres
 * of a flat model, row-major `rows x k`, summed exactly as `assign` sums.
 */
export function centreScores(
  arrays: PartitionArrays,
  x: CsrMatrix,
  rows?: Int32Array,
): Float64Array {
  const n = rows ? rows.length : x.rows;
  const k = arrays.k;
  const out = new Float64Array(n * k);
  const { indptr, indices, values } = x;
  for (let t = 0; t < n; t++) {
    const r = rows ? rows[t] : t;
    accumulateInvertedScores(
      arrays.featurePtr,
      arrays.partitions,
      arrays.weights,
      arrays.numFeatures,
      indices,
      values,
      indptr[r],
      indptr[r + 1],
      out,
      t * k,
    );
  }
  return out;
}

/**
 * A flat model's arrays with the biases that bound its parts to
 * `partCapacity(x.rows, k, balance)` rows on the training rows `x`
 * (unchanged when `balance` is 0 or nothing is over capacity).
 */
export function withBalance(
  arrays: PartitionArrays,
  x: CsrMatrix,
  balance: number,
): PartitionArrays {
  const capacity = partCapacity(x.rows, arrays.k, balance);
  if (capacity >= x.rows) return arrays;
  const bias = balanceBiases(centreScores(arrays, x), x.rows, arrays.k, capacity);
  return bias.some((b) => b !== 0) ? { ...arrays, bias } : arrays;
}
