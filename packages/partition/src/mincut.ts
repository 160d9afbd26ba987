import { labelKnnGraph } from "@annexml/knng";
import type { CsrMatrix, KnnResult, LabelMatrix, Rng } from "@annexml/sparse-io";
import { partCapacity, withBalance } from "./balance.js";
import { DenseFtrlState, type FtrlState, SparseFtrlState, sigmoid } from "./ftrl-state.js";
import { singlePartitionModel, trustedModel } from "./model.js";
import { prepareFit, type ResolvedPartitionOptions } from "./options.js";
import { argmaxRandomTies } from "./ties.js";
import type { Partitioner, PartitionModel, PartitionOptions } from "./types.js";

/**
 * Creates the min-cut FTRL state for K partitions and F features: the dense
 * feature-major layout when its `12 * ceil4(K) * F` bytes fit in
 * `memoryBudgetBytes`, else the exact sparse layout (see
 * {@link SparseFtrlState}). Both give bit-identical training.
 */
export function createFtrlState(
  k: number,
  numFeatures: number,
  options: Pick<ResolvedPartitionOptions, "eta0" | "lambda" | "memoryBudgetBytes">,
): FtrlState {
  return DenseFtrlState.bytesFor(k, numFeatures) <= options.memoryBudgetBytes
    ? new DenseFtrlState(k, numFeatures, options.eta0, options.lambda)
    : new SparseFtrlState(k, numFeatures, options.eta0, options.lambda);
}

/**
 * Min-cut of the label kNN graph (the original's `cls_type 1`),
 * ALGORITHM.md 2b.
 *
 * The rows are shuffled with `seed` and partition k is seeded with the k-th
 * shuffled row. The positives are the label kNN graph over all rows
 * (`numNeighbours` per row, label-normalised, head labels pruned with
 * `pruneBudget`, amplified). Each of `iters` epochs reshuffles the rows and,
 * for every row i with positives: draws `numNeighbours` negatives uniformly
 * from all rows; picks i's best partition b (exact ties at random) and
 * records it as i's current partition; then for each positive j, then each
 * negative j, takes one FTRL-proximal ascent step of c_b with gradient
 * `a * x_j`, `a = 1 - sigmoid(<x_j, c_b>)` for positives and
 * `-sigmoid(<x_j, c_b>)` for negatives (each dot product sees the previous
 * steps). The epoch's objective is the fraction of positive pairs (i, j)
 * whose j was last seen in b (a row not yet seen in this fit counts as
 * elsewhere). No weight is ever folded or shared: see {@link createFtrlState}.
 */
export function fitMincut(
  features: CsrMatrix,
  labels: LabelMatrix,
  options: PartitionOptions = {},
): PartitionModel {
  const start = prepareFit(features, labels, options, true);
  if (start === null) return singlePartitionModel(features.cols);
  const { options: o, k, rng, order } = start;
  const { indptr, indices, values } = features;
  const state = createFtrlState(k, features.cols, o);
  for (let c = 0; c < k; c++) {
    const r = order[c];
    state.seed(c, indices, values, indptr[r], indptr[r + 1]);
  }
  if (o.iters > 0) {
    const positives = labelKnnGraph(labels, {
      k: o.numNeighbours,
      labelNormalize: o.labelNormalize,
      pruneBudget: o.pruneBudget,
      amplify: true,
    });
    trainMincut(features, positives, state, order, rng, o);
  } else o.onProgress?.(0, 0);
  return trustedModel(withBalance(state.toArrays(), features, o.balance));
}

/** `onProgress` is called every `PROGRESS_ROWS_MASK + 1` rows within an epoch. */
const PROGRESS_ROWS_MASK = 1023;

/** The epochs of {@link fitMincut} over a given positives graph. */
function trainMincut(
  features: CsrMatrix,
  positives: KnnResult,
  state: FtrlState,
  order: Int32Array,
  rng: Rng,
  o: ResolvedPartitionOptions,
): void {
  const { indptr, indices, values } = features;
  const n = features.rows;
  const k = state.k;
  const nn = o.numNeighbours;
  const posK = positives.k;
  const posIds = positives.ids;
  const lastSeen = new Int32Array(n).fill(-1);
  const negatives = new Int32Array(nn);
  const scores = new Float64Array(k);
  const ties = new Int32Array(k);
  // Balance: a part that already took `capacity` rows this epoch is closed
  // for the rest of it, so every centre trains on a bounded share.
  const capacity = partCapacity(n, k, o.balance);
  const filled = capacity < n ? new Int32Array(k) : null;
  const onProgress = o.onProgress;
  const total = o.iters * n;
  onProgress?.(0, total);

  for (let epoch = 1; epoch <= o.iters; epoch++) {
    const start = performance.now();
    rng.shuffle(order);
    let pairs = 0;
    let correct = 0;
    filled?.fill(0);
    for (let t = 0; t < n; t++) {
      if (onProgress && t > 0 && (t & PROGRESS_ROWS_MASK) === 0)
        onProgress((epoch - 1) * n + t, total);
      const i = order[t];
      const base = i * posK;
      if (posIds[base] < 0) continue; // no positives: the row is skipped
      for (let q = 0; q < nn; q++) negatives[q] = rng.nextInt(n);

      scores.fill(0);
      state.scoreAll(indices, values, indptr[i], indptr[i + 1], scores);
      if (filled) {
        for (let c = 0; c < k; c++) if (filled[c] >= capacity) scores[c] = Number.NEGATIVE_INFINITY;
      }
      const b = argmaxRandomTies(scores, k, ties, rng);
      if (filled) filled[b]++;
      lastSeen[i] = b;

      for (let q = 0; q < posK; q++) {
        const j = posIds[base + q];
        if (j < 0) continue;
        const from = indptr[j];
        const to = indptr[j + 1];
        const a = 1 - sigmoid(state.dot(b, indices, values, from, to));
        state.update(b, indices, values, from, to, a);
        if (lastSeen[j] === b) correct++;
        pairs++;
      }
      for (let q = 0; q < nn; q++) {
        const j = negatives[q];
        const from = indptr[j];
        const to = indptr[j + 1];
        const a = -sigmoid(state.dot(b, indices, values, from, to));
        state.update(b, indices, values, from, to, a);
      }
    }
    const objective = pairs > 0 ? correct / pairs : 0;
    o.onEpoch?.({ epoch, objective, seconds: (performance.now() - start) / 1000 });
    onProgress?.(epoch * n, total);
  }
}

/** The min-cut {@link Partitioner} (`cls_type 1`); see {@link fitMincut}. */
export const mincutPartitioner: Partitioner = Object.freeze({ name: "mincut", fit: fitMincut });
