/**
 * Scalar references for the tests and the benchmark (not exported from the
 * package): plain loops, no unrolling, no shortcuts.
 */

import type { CsrMatrix, DenseMatrix, KnnResult } from "@annexml/sparse-io";
import { Rng, TopK } from "@annexml/sparse-io";
import { clusteredUnitVectors } from "./synthetic.js";

/** Row `r` of `m` as a copy of its `cols` values (no padding). */
export function denseRow(m: DenseMatrix, r: number): Float32Array {
  return m.data.slice(r * m.stride, r * m.stride + m.cols);
}

/**
 * Themed unit vectors and queries around the same centres: `rows` base rows
 * (seed `seed`) and `queries` query rows (seed `seed + 1`).
 */
export function themedVectors(o: {
  rows: number;
  queries: number;
  dim: number;
  centres: number;
  noise: number;
  seed: number;
}): { X: DenseMatrix; Q: DenseMatrix } {
  const shape = { dim: o.dim, centres: o.centres, noise: o.noise };
  return {
    X: clusteredUnitVectors({ ...shape, rows: o.rows, seed: o.seed }),
    Q: clusteredUnitVectors({ ...shape, rows: o.queries, seed: o.seed + 1, centreSeed: o.seed }),
  };
}

/** Squared Euclidean distance of row `i` of `a` and row `j` of `b`, one term at a time. */
export function referenceSquaredDistance(
  a: DenseMatrix,
  i: number,
  b: DenseMatrix,
  j: number,
): number {
  let s = 0;
  for (let t = 0; t < a.cols; t++) {
    const x = a.data[i * a.stride + t] - b.data[j * b.stride + t];
    s += x * x;
  }
  return s;
}

/**
 * Exact k nearest rows of `base` for every row of `queries` by squared
 * distance (ties to the lower id), optionally excluding the same row id
 * (for a kNN graph of `base` itself). Scores are squared distances.
 */
export function referenceKnn(
  base: DenseMatrix,
  queries: DenseMatrix,
  k: number,
  excludeSelf = false,
): KnnResult {
  const ids = new Int32Array(queries.rows * k).fill(-1);
  const scores = new Float32Array(queries.rows * k);
  const top = new TopK(k);
  const rowIds = new Int32Array(k);
  const dist = new Float64Array(k);
  for (let q = 0; q < queries.rows; q++) {
    top.reset(k);
    for (let r = 0; r < base.rows; r++) {
      if (excludeSelf && r === q) continue;
      top.push(r, -referenceSquaredDistance(queries, q, base, r));
    }
    const n = top.drainSorted(rowIds, dist, 0);
    for (let j = 0; j < n; j++) {
      ids[q * k + j] = rowIds[j];
      scores[q * k + j] = -dist[j];
    }
  }
  return { rows: queries.rows, k, ids, scores };
}

/**
 * Unit vectors from sparse rows: each row L2-normalised, multiplied by a
 * seeded Gaussian `cols x dim` matrix (a random projection, which keeps
 * cosines approximately), and normalised again (an all-zero row stays
 * zero). Features at or above `cols` (e.g. unseen in training) are dropped. Real-like data for the recall tests and the benchmark.
 */
export function projectRows(m: CsrMatrix, dim: number, seed: number, cols = m.cols): DenseMatrix {
  const rng = new Rng(seed);
  const proj = new Float64Array(cols * dim);
  for (let i = 0; i < proj.length; i++) proj[i] = rng.nextGaussian();
  const stride = Math.ceil(dim / 8) * 8;
  const data = new Float32Array(m.rows * stride);
  const z = new Float64Array(dim);
  for (let r = 0; r < m.rows; r++) {
    z.fill(0);
    let sq = 0;
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) sq += m.values[p] * m.values[p];
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) {
      const f = m.indices[p];
      if (f >= cols) continue;
      const v = m.values[p] * inv;
      for (let j = 0; j < dim; j++) z[j] += v * proj[f * dim + j];
    }
    let zz = 0;
    for (let j = 0; j < dim; j++) zz += z[j] * z[j];
    if (zz === 0) continue;
    const s = 1 / Math.sqrt(zz);
    for (let j = 0; j < dim; j++) data[r * stride + j] = z[j] * s;
  }
  return { rows: m.rows, cols: dim, stride, data };
}
