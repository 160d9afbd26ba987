import type { CsrMatrix, LabelMatrix } from "@annexml/sparse-io";
import { withBalance } from "./balance.js";
import { CentreIndex } from "./centres.js";
import {
  accumulateInvertedScores,
  compactInvertedIndex,
  singlePartitionModel,
  trustedModel,
} from "./model.js";
import { prepareFit } from "./options.js";
import { argmaxRandomTies } from "./ties.js";
import type { Partitioner, PartitionModel, PartitionOptions } from "./types.js";

/** Float32 machine epsilon (C's FLT_EPSILON): the k-means stopping tolerance. */
const FLT_EPSILON = 2 ** -23;

/**
 * Spherical k-means (the original's `cls_type 0`), ALGORITHM.md 2a.
 *
 * Initialisation: the rows are shuffled with `seed`; centre k is the k-th
 * shuffled row (as given, not re-normalised). Then up to `iters` epochs:
 * every row goes to its best centre by inner product (exact ties broken
 * uniformly at random); the objective is the mean best inner product; every
 * centre becomes the sum of its rows, L2-normalised (an empty partition gets
 * a zero centre); training stops early once the objective improves by less
 * than FLT_EPSILON (2^-23). Labels are only checked for shape.
 *
 * State: the centres are kept exactly as an inverted index of at most
 * `min(nnz(X), K * F)` entries (8 bytes each) plus O(N + F + K) scratch, so
 * `memoryBudgetBytes` is not needed here.
 */
export function fitKmeans(
  features: CsrMatrix,
  labels: LabelMatrix,
  options: PartitionOptions = {},
): PartitionModel {
  const start = prepareFit(features, labels, options, false);
  if (start === null) return singlePartitionModel(features.cols);
  const { options: o, k, rng, order } = start;
  const n = features.rows;

  const centres = new CentreIndex(k, features);
  const assignment = new Int32Array(n).fill(-1);
  for (let c = 0; c < k; c++) assignment[order[c]] = c;
  centres.rebuild(features, assignment, false);

  const scores = new Float64Array(k);
  const ties = new Int32Array(k);
  const { indptr, indices, values } = features;
  let previous = Number.NEGATIVE_INFINITY;
  const onProgress = o.onProgress;
  const total = o.iters * n;
  onProgress?.(0, total);
  for (let epoch = 1; epoch <= o.iters; epoch++) {
    const start = performance.now();
    let objective = 0;
    for (let r = 0; r < n; r++) {
      if (onProgress && r > 0 && (r & 1023) === 0) onProgress((epoch - 1) * n + r, total);
      scores.fill(0);
      accumulateInvertedScores(
        centres.featurePtr,
        centres.partitions,
        centres.weights,
        centres.numFeatures,
        indices,
        values,
        indptr[r],
        indptr[r + 1],
        scores,
      );
      const best = argmaxRandomTies(scores, k, ties, rng);
      assignment[r] = best;
      objective += scores[best];
    }
    objective /= n;
    centres.rebuild(features, assignment, true);
    o.onEpoch?.({ epoch, objective, seconds: (performance.now() - start) / 1000 });
    // Stopping early skips the remaining epochs' work: report it all done.
    const stop = objective - previous < FLT_EPSILON;
    onProgress?.(stop ? total : epoch * n, total);
    if (stop) break;
    previous = objective;
  }
  const arrays = compactInvertedIndex(
    k,
    centres.numFeatures,
    centres.featurePtr,
    centres.partitions,
    centres.weights,
  );
  return trustedModel(withBalance(arrays, features, o.balance));
}

/** The spherical k-means {@link Partitioner} (`cls_type 0`); see {@link fitKmeans}. */
export const kmeansPartitioner: Partitioner = Object.freeze({ name: "kmeans", fit: fitKmeans });
