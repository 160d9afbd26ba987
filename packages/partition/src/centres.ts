import type { CsrMatrix } from "@annexml/sparse-io";

/**
 * Centre vectors as a growable inverted index (feature -> (partition,
 * weight)), the exact sparse state of k-means: its size is the number of
 * distinct (partition, feature) pairs of the assigned rows, at most
 * `min(nnz(X), K * F)`, so it never needs more than the data itself.
 * All buffers are allocated once per fit and rebuilt in place every epoch.
 */
export class CentreIndex {
  readonly k: number;
  readonly numFeatures: number;
  readonly featurePtr: Int32Array;
  readonly partitions: Int32Array;
  readonly weights: Float32Array;
  /** Rows grouped by partition: rows of partition c are `groupRows[groupPtr[c] .. groupPtr[c + 1] - 1]`. */
  private readonly groupPtr: Int32Array;
  private readonly groupRows: Int32Array;
  private readonly stamp: Int32Array;
  private readonly next: Int32Array;
  private readonly acc: Float64Array;
  private readonly touched: Int32Array;

  constructor(k: number, features: CsrMatrix) {
    const f = features.cols;
    this.k = k;
    this.numFeatures = f;
    const capacity = Math.min(features.indptr[features.rows], k * f);
    this.featurePtr = new Int32Array(f + 1);
    this.partitions = new Int32Array(capacity);
    this.weights = new Float32Array(capacity);
    this.groupPtr = new Int32Array(k + 1);
    this.groupRows = new Int32Array(features.rows);
    this.stamp = new Int32Array(f);
    this.next = new Int32Array(f);
    this.acc = new Float64Array(f);
    this.touched = new Int32Array(f);
  }

  /**
   * Rebuilds the centres: `c_p = sum of the rows with assignment[r] === p`
   * (rows with assignment -1 are left out), L2-normalised when `normalise`
   * (a centre with zero norm stays zero). Entries come out sorted by
   * partition within every feature. Sums are in double precision.
   */
  rebuild(x: CsrMatrix, assignment: Int32Array, normalise: boolean): void {
    const { k, groupPtr, groupRows, stamp, next, acc, touched, featurePtr, partitions, weights } =
      this;
    const { indptr, indices, values } = x;
    const n = x.rows;
    const f = this.numFeatures;
    // Counting sort of the rows by partition.
    groupPtr.fill(0);
    for (let r = 0; r < n; r++) if (assignment[r] >= 0) groupPtr[assignment[r] + 1]++;
    for (let c = 0; c < k; c++) groupPtr[c + 1] += groupPtr[c];
    for (let c = 0; c < k; c++) next[c] = groupPtr[c];
    for (let r = 0; r < n; r++) if (assignment[r] >= 0) groupRows[next[assignment[r]]++] = r;
    // Pass 1: distinct partitions per feature.
    stamp.fill(-1);
    featurePtr.fill(0);
    for (let c = 0; c < k; c++) {
      for (let g = groupPtr[c], gEnd = groupPtr[c + 1]; g < gEnd; g++) {
        const r = groupRows[g];
        for (let p = indptr[r], end = indptr[r + 1]; p < end; p++) {
          const feat = indices[p];
          if (stamp[feat] !== c) {
            stamp[feat] = c;
            featurePtr[feat + 1]++;
          }
        }
      }
    }
    for (let j = 0; j < f; j++) featurePtr[j + 1] += featurePtr[j];
    for (let j = 0; j < f; j++) next[j] = featurePtr[j];
    // Pass 2: per partition, sum its rows densely over the touched features,
    // then write them (scaled) to the next free slot of each feature; partitions
    // are visited in ascending order, so each feature's list comes out sorted.
    stamp.fill(-1);
    for (let c = 0; c < k; c++) {
      let count = 0;
      for (let g = groupPtr[c], gEnd = groupPtr[c + 1]; g < gEnd; g++) {
        const r = groupRows[g];
        for (let p = indptr[r], end = indptr[r + 1]; p < end; p++) {
          const feat = indices[p];
          if (stamp[feat] !== c) {
            stamp[feat] = c;
            touched[count++] = feat;
            acc[feat] = 0;
          }
          acc[feat] += values[p];
        }
      }
      let norm = 1;
      if (normalise) {
        let sum = 0;
        for (let t = 0; t < count; t++) sum += acc[touched[t]] * acc[touched[t]];
        if (sum > 0) norm = Math.sqrt(sum);
      }
      for (let t = 0; t < count; t++) {
        const feat = touched[t];
        const slot = next[feat]++;
        partitions[slot] = c;
        weights[slot] = acc[feat] / norm;
      }
    }
  }

  /** The number of entries currently held. */
  get size(): number {
    return this.featurePtr[this.numFeatures];
  }
}
