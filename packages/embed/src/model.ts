import type { CsrMatrix, DenseMatrix } from "@annexml/sparse-io";
import { badInput, badOption } from "@annexml/sparse-io";

/**
 * A trained embedding model as plain typed arrays and numbers (what a model
 * file stores). See {@link EmbeddingModel} for the meaning of each field.
 */
export interface EmbeddingArrays {
  readonly embSize: number;
  readonly stride: number;
  /** Number of training rows (rows of `embeddings`). */
  readonly rows: number;
  readonly featureIds: Int32Array;
  /** `featureIds.length * stride` floats, padding zero. */
  readonly weights: Float32Array;
  /** `rows * stride` floats, padding zero, every row unit length or zero. */
  readonly embeddings: Float32Array;
  /** P@1..5 of the training diagnostic, when it was computed. */
  readonly precision?: Float64Array;
}

/**
 * The embedding of one partition: the projection `z = x W` of sparse feature
 * rows into `embSize` dimensions, and the unit embeddings of the partition's
 * training rows.
 *
 * Invariants: `featureIds` strictly increasing and non-negative (original
 * feature ids, only those present in the training rows: there is no row for
 * unknown features, so no id collides with a feature of the data);
 * `weights` is `featureIds.length x stride` row-major with zero padding;
 * `embeddings` rows are unit length, or all zero when `x W = 0`; nothing is
 * NaN.
 */
export interface EmbeddingModel {
  readonly embSize: number;
  /** Floats per row of `weights` and `embeddings`: embSize padded to a multiple of 4. */
  readonly stride: number;
  readonly featureIds: Int32Array;
  readonly weights: Float32Array;
  readonly embeddings: DenseMatrix;
  /**
   * `x W` of one sparse row, as a new `Float32Array(stride)` (padding zero).
   * Features the model does not know are ignored. `indices` should be sorted
   * ascending (as in a CSR row; unsorted input is handled, only slower).
   * With `normalize` (default true) the result is scaled to unit length; a
   * zero result stays zero.
   */
  embed(indices: Int32Array, values: Float32Array, options?: { normalize?: boolean }): Float32Array;
  /**
   * As {@link embed}, written to `out[offset .. offset + stride)` without
   * allocating (for prediction loops). `prefetch`: the weight rows are
   * likely out of cache (one row predicted across many models): touch them
   * all first, so their cache misses overlap (see {@link projectRow}).
   */
  embedInto(
    out: Float32Array,
    offset: number,
    indices: Int32Array,
    values: Float32Array,
    normalize?: boolean,
    prefetch?: boolean,
  ): void;
  /** `x W` of rows of a CSR matrix (all rows, or the given ones in order), as a dense matrix. */
  embedRows(m: CsrMatrix, rows?: ArrayLike<number>, normalize?: boolean): DenseMatrix;
  /** The model as plain arrays (shared, not copied). */
  toArrays(): EmbeddingArrays;
  /** P@1..5 of brute-force kNN voting over the training rows, when trained with `diagnostic`. */
  readonly diagnostic?: { readonly precision: Float64Array };
}

class Model implements EmbeddingModel {
  readonly embSize: number;
  readonly stride: number;
  readonly featureIds: Int32Array;
  readonly weights: Float32Array;
  readonly embeddings: DenseMatrix;
  readonly diagnostic?: { readonly precision: Float64Array };

  constructor(a: EmbeddingArrays) {
    this.embSize = a.embSize;
    this.stride = a.stride;
    this.featureIds = a.featureIds;
    this.weights = a.weights;
    this.embeddings = { rows: a.rows, cols: a.embSize, stride: a.stride, data: a.embeddings };
    if (a.precision !== undefined) this.diagnostic = { precision: a.precision };
  }

  embed(
    indices: Int32Array,
    values: Float32Array,
    options?: { normalize?: boolean },
  ): Float32Array {
    const out = new Float32Array(this.stride);
    this.embedInto(out, 0, indices, values, options?.normalize ?? true);
    return out;
  }

  embedInto(
    out: Float32Array,
    offset: number,
    indices: Int32Array,
    values: Float32Array,
    normalize = true,
    prefetch = false,
  ): void {
    const stride = this.stride;
    if (!(offset >= 0 && offset + stride <= out.length) || !Number.isInteger(offset)) {
      throw badOption(
        `offset must leave room for ${stride} floats in out (length ${out.length}), but is ${offset}`,
      );
    }
    if (values.length < indices.length) {
      throw badInput(
        `values must have one entry per index (${indices.length}), but has ${values.length}`,
      );
    }
    projectRow(
      out,
      offset,
      stride,
      this.featureIds,
      this.weights,
      indices,
      values,
      0,
      indices.length,
      prefetch,
    );
    if (normalize) normalizeSlice(out, offset, stride);
  }

  embedRows(m: CsrMatrix, rows?: ArrayLike<number>, normalize = true): DenseMatrix {
    const n = rows === undefined ? m.rows : rows.length;
    const stride = this.stride;
    const data = new Float32Array(n * stride);
    for (let i = 0; i < n; i++) {
      const r = rows === undefined ? i : rows[i];
      if (!(r >= 0 && r < m.rows)) throw badOption(`row ${r} is out of range [0, ${m.rows})`);
      const from = m.indptr[r];
      const to = m.indptr[r + 1];
      projectRow(
        data,
        i * stride,
        stride,
        this.featureIds,
        this.weights,
        m.indices,
        m.values,
        from,
        to,
      );
      if (normalize) normalizeSlice(data, i * stride, stride);
    }
    return { rows: n, cols: this.embSize, stride, data };
  }

  toArrays(): EmbeddingArrays {
    const a = {
      embSize: this.embSize,
      stride: this.stride,
      rows: this.embeddings.rows,
      featureIds: this.featureIds,
      weights: this.weights,
      embeddings: this.embeddings.data,
    };
    return this.diagnostic ? { ...a, precision: this.diagnostic.precision } : a;
  }
}

/** {@link projectRow}'s matched weight rows and values (grown to the longest row; one per thread). */
let matchedRows = new Int32Array(256);
let matchedValues = new Float64Array(256);
/** Receives {@link projectRow}'s prefetch loads, so they stay. */
const touched = new Float64Array(1);

/**
 * `out[offset..offset+stride) = sum of values[p] * W[row of indices[p]]` over
 * `p in [from, to)`, skipping unknown features. Matches sorted query indices
 * against the sorted `featureIds` by galloping from the previous match, so a
 * short query costs O(nnz log(F / nnz)) and nothing is allocated (but a
 * scratch list grown to the longest row). Then sums the matched rows eight
 * columns at a time in registers (then four for a stride's tail): each sum
 * is rounded to float32 after every addition, in row order, so the result
 * is bit for bit the one of accumulating into `out` directly (1.3x faster:
 * no load and store of `out` per product). Each sum is a chain of
 * dependent additions, so eight independent chains instead of four hide
 * their latency: 1.2-1.8x faster again on one predicted row (15 learners).
 * With `prefetch`, one load per 64-byte line of every matched row first:
 * independent loads whose misses overlap, where the sums' dependent chains
 * let few be in flight (JavaScript has no prefetch instruction); 1.5-2x
 * faster when the weights are out of cache (a single row over 15 learners),
 * a little slower when they are in it (a batch of rows per learner).
 */
export function projectRow(
  out: Float32Array,
  offset: number,
  stride: number,
  featureIds: Int32Array,
  weights: Float32Array,
  indices: Int32Array,
  values: Float32Array,
  from: number,
  to: number,
  prefetch = false,
): void {
  if (matchedRows.length < to - from) {
    matchedRows = new Int32Array(2 * (to - from));
    matchedValues = new Float64Array(2 * (to - from));
  }
  const rowsAt = matchedRows;
  const xs = matchedValues;
  const numFeatures = featureIds.length;
  let matched = 0;
  let lo = 0;
  let previous = -1;
  for (let p = from; p < to; p++) {
    const q = indices[p];
    // Unsorted input: restart the search instead of missing features.
    if (q < previous) lo = 0;
    previous = q;
    if (lo >= numFeatures) {
      if (q > featureIds[numFeatures - 1]) continue;
      lo = 0;
    }
    // Gallop: find hi with featureIds[hi] >= q, then binary search (lo, hi].
    let step = 1;
    let hi = lo;
    while (hi < numFeatures && featureIds[hi] < q) {
      lo = hi + 1;
      hi += step;
      step <<= 1;
    }
    if (hi > numFeatures) hi = numFeatures;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (featureIds[mid] < q) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= numFeatures || featureIds[lo] !== q) continue;
    rowsAt[matched] = lo * stride;
    xs[matched++] = values[p];
    lo++;
  }
  if (prefetch) {
    let sum = 0;
    for (let j = 0; j < matched; j++) {
      const w = rowsAt[j];
      for (let e = 0; e < stride; e += 16) sum += weights[w + e];
      sum += weights[w + stride - 1];
    }
    touched[0] = sum;
  }
  const f32 = Math.fround;
  let d = 0;
  // Eight columns at a time (their sums are independent chains: the CPU
  // overlaps them), then the last four when stride is not a multiple of 8.
  for (; d + 8 <= stride; d += 8) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let a4 = 0;
    let a5 = 0;
    let a6 = 0;
    let a7 = 0;
    for (let j = 0; j < matched; j++) {
      const w = rowsAt[j] + d;
      const x = xs[j];
      a0 = f32(a0 + x * weights[w]);
      a1 = f32(a1 + x * weights[w + 1]);
      a2 = f32(a2 + x * weights[w + 2]);
      a3 = f32(a3 + x * weights[w + 3]);
      a4 = f32(a4 + x * weights[w + 4]);
      a5 = f32(a5 + x * weights[w + 5]);
      a6 = f32(a6 + x * weights[w + 6]);
      a7 = f32(a7 + x * weights[w + 7]);
    }
    out[offset + d] = a0;
    out[offset + d + 1] = a1;
    out[offset + d + 2] = a2;
    out[offset + d + 3] = a3;
    out[offset + d + 4] = a4;
    out[offset + d + 5] = a5;
    out[offset + d + 6] = a6;
    out[offset + d + 7] = a7;
  }
  // The stride is a multiple of 4: at most one group of four is left.
  if (d < stride) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let j = 0; j < matched; j++) {
      const w = rowsAt[j] + d;
      const x = xs[j];
      a0 = f32(a0 + x * weights[w]);
      a1 = f32(a1 + x * weights[w + 1]);
      a2 = f32(a2 + x * weights[w + 2]);
      a3 = f32(a3 + x * weights[w + 3]);
    }
    out[offset + d] = a0;
    out[offset + d + 1] = a1;
    out[offset + d + 2] = a2;
    out[offset + d + 3] = a3;
  }
}

/** Scales `a[offset..offset+n)` to unit L2 norm; leaves a zero (or non-finite-norm) slice unchanged. */
export function normalizeSlice(a: Float32Array, offset: number, n: number): void {
  let sum = 0;
  for (let d = 0; d < n; d++) sum += a[offset + d] * a[offset + d];
  if (sum > 0 && Number.isFinite(sum)) {
    const scale = 1 / Math.sqrt(sum);
    for (let d = 0; d < n; d++) a[offset + d] *= scale;
  }
}

/** Wraps arrays that are already known to be valid (used by the trainer). */
export function modelFromTrustedArrays(a: EmbeddingArrays): EmbeddingModel {
  return new Model(a);
}

/**
 * Rebuilds a model from {@link EmbeddingArrays} (sharing, not copying, the
 * arrays) after checking every invariant of {@link EmbeddingModel}; throws a
 * `AnnexmlError` `BAD_INPUT` naming the first violation.
 */
export function embeddingModelFromArrays(a: EmbeddingArrays): EmbeddingModel {
  if (a === null || typeof a !== "object") throw badInput(`arrays must be an object, but is ${a}`);
  const { embSize, stride, rows } = a;
  if (!Number.isInteger(embSize) || embSize < 1) {
    throw badInput(`embSize must be a positive integer, but is ${embSize}`);
  }
  if (!Number.isInteger(stride) || stride < embSize || stride % 4 !== 0) {
    throw badInput(`stride must be a multiple of 4 and >= embSize ${embSize}, but is ${stride}`);
  }
  if (!Number.isInteger(rows) || rows < 0) {
    throw badInput(`rows must be a non-negative integer, but is ${rows}`);
  }
  if (!(a.featureIds instanceof Int32Array)) throw badInput("featureIds must be an Int32Array");
  if (!(a.weights instanceof Float32Array)) throw badInput("weights must be a Float32Array");
  if (!(a.embeddings instanceof Float32Array)) throw badInput("embeddings must be a Float32Array");
  if (a.precision !== undefined && !(a.precision instanceof Float64Array)) {
    throw badInput("precision must be a Float64Array when present");
  }
  const ids = a.featureIds;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || (i > 0 && ids[i] <= ids[i - 1])) {
      throw badInput(
        `featureIds must be strictly increasing and non-negative, but has ${ids[i]} at ${i}`,
      );
    }
  }
  if (a.weights.length !== ids.length * stride) {
    throw badInput(
      `weights must have featureIds.length x stride = ${ids.length * stride} floats, but has ${a.weights.length}`,
    );
  }
  if (a.embeddings.length !== rows * stride) {
    throw badInput(
      `embeddings must have rows x stride = ${rows * stride} floats, but has ${a.embeddings.length}`,
    );
  }
  checkRows(a.weights, ids.length, embSize, stride, "weights", false);
  checkRows(a.embeddings, rows, embSize, stride, "embeddings", true);
  return new Model(a);
}

function checkRows(
  data: Float32Array,
  rows: number,
  cols: number,
  stride: number,
  name: string,
  unit: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let d = 0; d < stride; d++) {
      const x = data[r * stride + d];
      if (!Number.isFinite(x)) throw badInput(`${name} row ${r} holds ${x}`);
      if (d >= cols && x !== 0) {
        throw badInput(`${name} row ${r} has non-zero padding ${x} at column ${d}`);
      }
      sum += x * x;
    }
    if (unit && sum !== 0 && Math.abs(Math.sqrt(sum) - 1) > 1e-3) {
      throw badInput(
        `${name} row ${r} must be unit length or zero, but has norm ${Math.sqrt(sum)}`,
      );
    }
  }
}
