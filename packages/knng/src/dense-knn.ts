import type { DenseMatrix, KnnResult } from "@annexml/sparse-io";
import { ipBlock, ipPair, l2Block, l2Pair } from "./kernels.js";
import { RowHeaps } from "./row-heaps.js";

/**
 * Dissimilarity of two dense vectors. `"l2"`: squared Euclidean distance,
 * smaller is better. `"ip"`: inner product, larger is better.
 */
export type DenseMetric = "l2" | "ip";

/** Options of the dense kNN graph builders. */
export interface DenseKnnOptions {
  /** Neighbours per row (out-edges, e.g. `num_edge` = 50). */
  k: number;
  /** Default `"l2"`. */
  metric?: DenseMetric;
}

/** Defaults of {@link DenseKnnOptions} (k has none: the caller decides). */
export const DEFAULT_DENSE_KNN_OPTIONS: Readonly<{ metric: DenseMetric }> = Object.freeze({
  metric: "l2",
});

/** Checks dense kNN options; throws a `RangeError` / `TypeError` naming the bad value. */
export function validateDenseKnnOptions(options: DenseKnnOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError("options must be an object with at least k");
  }
  const { k, metric } = options;
  if (!(Number.isSafeInteger(k) && k > 0)) {
    throw new RangeError(`k must be a positive integer, but is ${k}`);
  }
  if (metric !== undefined && metric !== "l2" && metric !== "ip") {
    throw new RangeError(`metric must be "l2" or "ip", but is ${JSON.stringify(metric)}`);
  }
}

/**
 * Checks the shape of a {@link DenseMatrix}: a Float32Array holding
 * `rows` rows of `stride >= cols` floats. Throws a `RangeError` /
 * `TypeError` naming the bad value.
 */
export function validateDenseMatrix(m: DenseMatrix, name = "vectors"): void {
  if (!(m.data instanceof Float32Array)) throw new TypeError(`${name}.data must be a Float32Array`);
  for (const key of ["rows", "cols", "stride"] as const) {
    if (!(Number.isSafeInteger(m[key]) && m[key] >= 0)) {
      throw new RangeError(`${name}.${key} must be a non-negative integer, but is ${m[key]}`);
    }
  }
  if (m.stride < m.cols) {
    throw new RangeError(`${name}.stride must be >= cols = ${m.cols}, but is ${m.stride}`);
  }
  const need = m.rows === 0 ? 0 : (m.rows - 1) * m.stride + m.cols;
  if (m.data.length < need) {
    throw new RangeError(
      `${name}.data must hold at least ${need} floats for ${m.rows} rows of stride ${m.stride}, but holds ${m.data.length}`,
    );
  }
}

/**
 * Rows of the second operand per cache block: 256 rows of 64 floats are
 * 64 KiB, which stay in L2 while every earlier row streams past them.
 */
const J_BLOCK = 256;

/**
 * The exact kNN graph of the rows of `vectors`: for every row, the k other
 * rows of smallest squared Euclidean distance (`"l2"`, scores ascending) or
 * largest inner product (`"ip"`, scores descending). Self is excluded; ties
 * go to the lower id; rows with fewer than k others are padded with id -1,
 * score 0. Scores are computed in double (bit-identical to the scalar loop
 * over the `cols` dimensions) and rounded to Float32 BEFORE ranking, so the
 * order and the tie rule hold for the stored scores exactly.
 *
 * Each unordered pair is computed once and offered to both rows' bounded
 * heaps, in cache blocks of {@link J_BLOCK} rows with a 2 x 2 register-blocked
 * kernel. Cost: `n (n - 1) / 2 * cols` multiply-adds. Rows holding NaN never
 * become neighbours.
 */
export function exactKnnGraph(vectors: DenseMatrix, options: DenseKnnOptions): KnnResult {
  validateDenseMatrix(vectors);
  validateDenseKnnOptions(options);
  const l2 = (options.metric ?? DEFAULT_DENSE_KNN_OPTIONS.metric) === "l2";
  const heaps = new RowHeaps(vectors.rows, options.k);
  exactInto(vectors, l2, heaps);
  return heaps.drain(l2 ? -1 : 1);
}

/**
 * Offers every pair of rows of `vectors` to `heaps` (keys: inner product, or
 * the negated squared distance when `l2`).
 */
export function exactInto(vectors: DenseMatrix, l2: boolean, heaps: RowHeaps): void {
  const { rows: n, cols, stride, data } = vectors;
  const block = l2 ? l2Block : ipBlock;
  const pair = l2 ? l2Pair : ipPair;
  const sign = l2 ? -1 : 1;
  const { worstKey, worstId } = heaps;
  const out = new Float64Array(4);
  for (let jb = 0; jb < n; jb += J_BLOCK) {
    const jEnd = Math.min(n, jb + J_BLOCK);
    // Rows i < jEnd, two at a time, against the rows j > i of this block.
    for (let i = 0; i + 1 < jEnd; i += 2) {
      const i1 = i + 1;
      const a0 = i * stride;
      const a1 = a0 + stride;
      if (i1 >= jb) {
        const key = sign * Math.fround(pair(data, a0, a1, cols));
        offer(heaps, worstKey, worstId, i, i1, key);
        offer(heaps, worstKey, worstId, i1, i, key);
      }
      let j = Math.max(jb, i + 2);
      for (; j + 1 < jEnd; j += 2) {
        const j1 = j + 1;
        block(data, a0, a1, data, j * stride, j1 * stride, cols, out);
        const k00 = sign * Math.fround(out[0]);
        const k01 = sign * Math.fround(out[1]);
        const k10 = sign * Math.fround(out[2]);
        const k11 = sign * Math.fround(out[3]);
        offer(heaps, worstKey, worstId, i, j, k00);
        offer(heaps, worstKey, worstId, j, i, k00);
        offer(heaps, worstKey, worstId, i, j1, k01);
        offer(heaps, worstKey, worstId, j1, i, k01);
        offer(heaps, worstKey, worstId, i1, j, k10);
        offer(heaps, worstKey, worstId, j, i1, k10);
        offer(heaps, worstKey, worstId, i1, j1, k11);
        offer(heaps, worstKey, worstId, j1, i1, k11);
      }
      if (j < jEnd) {
        const b = j * stride;
        const k0 = sign * Math.fround(pair(data, a0, b, cols));
        const k1 = sign * Math.fround(pair(data, a1, b, cols));
        offer(heaps, worstKey, worstId, i, j, k0);
        offer(heaps, worstKey, worstId, j, i, k0);
        offer(heaps, worstKey, worstId, i1, j, k1);
        offer(heaps, worstKey, worstId, j, i1, k1);
      }
    }
    // With an odd jEnd, row jEnd - 1 has no partner j > it in this block.
  }
}

/** Inline screen, then the heap insertion (rare once the heaps are full). */
function offer(
  heaps: RowHeaps,
  worstKey: Float64Array,
  worstId: Int32Array,
  r: number,
  id: number,
  key: number,
): void {
  const w = worstKey[r];
  if (key > w || (key === w && id < worstId[r])) heaps.insert(r, id, key);
}
