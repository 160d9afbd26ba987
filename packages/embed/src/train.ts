import { labelKnnGraph } from "@annexml/knng";
import {
  badInput,
  badOption,
  type CsrMatrix,
  type KnnResult,
  type LabelMatrix,
  Rng,
  selectRows,
} from "@annexml/sparse-io";
import {
  createJsKernel,
  createWasmKernel,
  type KernelLayout,
  kernelLayout,
  type TrainingKernel,
} from "./kernel.js";
import { type EmbeddingModel, modelFromTrustedArrays, normalizeSlice } from "./model.js";
import {
  type EmbeddingOptions,
  paddedStride,
  type ResolvedEmbeddingOptions,
  validateEmbeddingOptions,
} from "./options.js";
import { knnVotePrecision } from "./precision.js";

/** What {@link trainEmbedding} learns from: one partition of a dataset. */
export interface EmbeddingInput {
  /** All feature rows (global), each already scaled to unit L2 norm. */
  readonly features: CsrMatrix;
  /** All label sets (global), one per feature row. */
  readonly labels: LabelMatrix;
  /** Global ids of the partition's rows; local row i is `rows[i]`. */
  readonly rows: Int32Array;
  /**
   * The positives of every local row as LOCAL ids (best first, -1 = none),
   * e.g. from `labelKnnGraph(labels, { rows })` of `@annexml/knng`. Computed
   * that way with `numNeighbours` and `labelNormalize` when omitted. A row
   * uses its leading non-negative ids (P of them, P <= k) and gets P
   * negatives; a row whose first id is -1 has no positives and is skipped.
   */
  readonly positives?: KnnResult;
}

/** Squared embedding norms below this count as zero (norm < 1e-12). */
const TINY = 1e-24;

const now: () => number =
  typeof performance === "object" && typeof performance.now === "function"
    ? () => performance.now()
    : () => Date.now();

/**
 * Learns the embedding of one partition (ALGORITHM.md section 3): W over the
 * features present in the partition's rows, initialised uniformly in
 * [-r, r] with r = sqrt(1 / mean nnz), trained for `iters` epochs of exact
 * per-sample AdaGrad (accumulators start at 1) on the softmax-over-negatives
 * loss of the cosine scaled by `gamma`. Each epoch visits the rows with
 * positives in a shuffled order; a row with P positives gets P negatives
 * drawn uniformly from the partition (they may coincide with the row or a
 * positive); all embeddings and cosines of the update are computed before W
 * changes, then every sample applies its anchor-side step and its
 * sample-side step, in sample order (positives, then negatives).
 *
 * Zero norms are guarded: a pair where either embedding is (numerically)
 * zero has cosine 0 in the softmax and gets no gradient step (the gradient
 * of the cosine is undefined there), and zero embeddings stay zero, so the
 * model never holds NaN.
 *
 * Deterministic: the same inputs, options and kernel give the same model,
 * bit for bit. The "wasm" and "js" kernels agree to float rounding only
 * (f32 SIMD arithmetic vs double intermediates); "auto" always picks wasm
 * where WebAssembly SIMD exists.
 *
 * Memory: `8 * stride` bytes per feature of the partition (W and G) plus
 * 8 bytes per non-zero and `4 * stride` bytes per row of output.
 */
export function trainEmbedding(input: EmbeddingInput, options?: EmbeddingOptions): EmbeddingModel {
  const o = validateEmbeddingOptions(options);
  validateInput(input);
  const { features, labels, rows } = input;
  const n = rows.length;
  const positives =
    input.positives ??
    labelKnnGraph(labels, { k: o.numNeighbours, labelNormalize: o.labelNormalize, rows });
  validatePositives(positives, n);

  const { featureIds, local, nnz } = compactFeatures(features, rows);
  const embSize = o.embSize;
  const stride = paddedStride(embSize);
  const layout = kernelLayout(stride, 2 * positives.k, featureIds.length, n, nnz);
  const kernel = createKernel(o, layout);
  const f32 = new Float32Array(kernel.buffer);
  const i32 = new Int32Array(kernel.buffer);

  writeRows(f32, i32, layout, features, rows, local);
  const rng = new Rng(o.seed);
  initWeights(f32, layout, embSize, nnz > 0 ? Math.sqrt(n / nnz) : 1, rng);
  const scratch = epochScratch(positives);
  const active = scratch.order.length;
  o.onProgress?.(0, o.iters * active);
  for (let epoch = 0; epoch < o.iters; epoch++) {
    const started = now();
    trainEpoch(kernel, f32, i32, layout, positives, o, rng, scratch, epoch * active);
    o.onEpoch?.({ epoch, seconds: (now() - started) / 1000 });
    o.onProgress?.((epoch + 1) * active, o.iters * active);
  }

  // W in the model's plain layout, and the unit embeddings of the rows.
  const weights = new Float32Array(featureIds.length * stride);
  for (let f = 0; f < featureIds.length; f++) {
    const w = (layout.wg >> 2) + f * 2 * stride;
    for (let d = 0; d < embSize; d++) weights[f * stride + d] = f32[w + 8 * (d >> 2) + (d & 3)];
  }
  const embeddings = new Float32Array(n * stride);
  const rowptr = layout.rowptr >> 2;
  const emb = layout.emb >> 2;
  for (let i = 0; i < n; i++) {
    kernel.accumulate(layout.emb, i32[rowptr + i], i32[rowptr + i + 1]);
    embeddings.set(f32.subarray(emb, emb + embSize), i * stride);
    normalizeSlice(embeddings, i * stride, stride);
  }

  let precision: Float64Array | undefined;
  if (o.diagnostic) {
    const matrix = { rows: n, cols: embSize, stride, data: embeddings };
    const localLabels = selectRows(labels, rows);
    precision = knnVotePrecision(matrix, localLabels, matrix, localLabels, {
      k: o.numNeighbours,
      excludeSelf: true,
    });
  }
  return modelFromTrustedArrays({
    embSize,
    stride,
    rows: n,
    featureIds,
    weights,
    embeddings,
    ...(precision ? { precision } : {}),
  });
}

/**
 * The sorted ids of the features present in the rows, the map global id ->
 * local id (-1 when absent), and the rows' non-zero count. The original
 * numbers features from 1 and keeps a random, never-trained row 0 that
 * collides with a real feature 0 at prediction; here there is no such row.
 */
function compactFeatures(features: CsrMatrix, rows: Int32Array) {
  const { cols, indptr, indices } = features;
  const local = new Int32Array(cols).fill(-1);
  let nnz = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    for (let p = indptr[r]; p < indptr[r + 1]; p++) {
      const f = indices[p];
      if (!(f >= 0 && f < cols)) {
        throw badInput(`features row ${r} has the feature ${f} outside [0, ${cols})`);
      }
      local[f] = 0;
    }
    nnz += indptr[r + 1] - indptr[r];
  }
  let count = 0;
  for (let f = 0; f < cols; f++) if (local[f] === 0) count++;
  const featureIds = new Int32Array(count);
  for (let f = 0, j = 0; f < cols; f++) {
    if (local[f] === 0) {
      featureIds[j] = f;
      local[f] = j++;
    }
  }
  return { featureIds, local, nnz };
}

/** The partition's rows as (record address, value) entries, and their row pointers. */
function writeRows(
  f32: Float32Array,
  i32: Int32Array,
  layout: KernelLayout,
  features: CsrMatrix,
  rows: Int32Array,
  local: Int32Array,
): void {
  const recordBytes = 8 * layout.stride;
  const rowptr = layout.rowptr >> 2;
  let e = layout.entries >> 2;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    i32[rowptr + i] = e << 2;
    for (let p = features.indptr[r]; p < features.indptr[r + 1]; p++, e += 2) {
      const x = features.values[p];
      if (!Number.isFinite(x)) {
        throw badInput(`features row ${r} holds the non-finite value ${x}`);
      }
      i32[e] = layout.wg + local[features.indices[p]] * recordBytes;
      f32[e + 1] = x;
    }
  }
  i32[rowptr + rows.length] = e << 2;
}

/**
 * W uniform in [-radius, radius] (features in order, dimensions in order),
 * padding 0; G = 1 everywhere, padding too, so the zero-gradient padding
 * lanes divide by 1, never by 0.
 */
function initWeights(
  f32: Float32Array,
  layout: KernelLayout,
  embSize: number,
  radius: number,
  rng: Rng,
): void {
  const stride = layout.stride;
  for (let f = 0; f < layout.features; f++) {
    const w = (layout.wg >> 2) + f * 2 * stride;
    for (let d = 0; d < stride; d++) {
      const at = w + 8 * (d >> 2) + (d & 3);
      f32[at] = d < embSize ? (2 * rng.nextFloat() - 1) * radius : 0;
      f32[at + 4] = 1;
    }
  }
}

/**
 * One epoch: shuffle the rows with positives, then one update per row;
 * `onProgress` hears `before + rows done` every 256 rows.
 */
function trainEpoch(
  kernel: TrainingKernel,
  f32: Float32Array,
  i32: Int32Array,
  layout: KernelLayout,
  positives: KnnResult,
  o: ResolvedEmbeddingOptions,
  rng: Rng,
  scratch: EpochScratch,
  before: number,
): void {
  const { order, count, cosines, coefficients, t } = scratch;
  const onProgress = o.onProgress;
  const total = o.iters * order.length;
  const n = positives.rows;
  const k = positives.k;
  const ids = positives.ids;
  const samples = layout.samples >> 2;
  const params = layout.params >> 2;
  const dots = layout.dots >> 2;
  const norms = layout.norms >> 2;
  const { gamma, eta0 } = o;
  const merged = o.anchorStep === "merged";

  rng.shuffle(order);
  for (let oi = 0; oi < order.length; oi++) {
    if (onProgress && oi > 0 && (oi & 255) === 0) onProgress(before + oi, total);
    const i = order[oi];
    const P = count[i];
    const S = 2 * P;
    for (let s = 0; s < P; s++) {
      i32[samples + s] = ids[i * k + s];
      i32[samples + P + s] = rng.nextInt(n);
    }
    kernel.forward(i, S);

    // Squared norms below TINY count as zero: the cosine is then 0 and the
    // pair gets no step (its gradient, ~1/|h|, is undefined or huge).
    const hh = f32[norms] >= TINY ? f32[norms] : 0;
    for (let s = 0; s < S; s++) {
      const uu = f32[norms + 1 + s] >= TINY ? f32[norms + 1 + s] : 0;
      const denominator = Math.sqrt(hh * uu);
      cosines[s] = denominator > 0 ? f32[dots + s] / denominator : 0;
      coefficients[s] = 0;
    }
    // Softmax of gamma * cos over {p} and the negatives, for every positive p.
    for (let p = 0; p < P; p++) {
      const cp = cosines[p];
      let D = 1;
      for (let q = P; q < S; q++) {
        const tq = Math.exp(-gamma * (cp - cosines[q]));
        t[q] = tq;
        D += tq;
      }
      for (let q = P; q < S; q++) {
        const a = (gamma * t[q]) / D;
        coefficients[p] += a;
        coefficients[q] -= a;
      }
    }
    // Per-sample scalars of both sides: c0 = a / (|h| |u|), beta = <h,u> / |h1|^2.
    for (let s = 0, q = params; s < S; s++, q += 3) {
      const uu = f32[norms + 1 + s] >= TINY ? f32[norms + 1 + s] : 0;
      const nn = Math.sqrt(hh) * Math.sqrt(uu);
      f32[q] = nn > 0 ? coefficients[s] / nn : 0;
      f32[q + 1] = nn > 0 ? f32[dots + s] / hh : 0;
      f32[q + 2] = nn > 0 ? f32[dots + s] / uu : 0;
    }
    if (merged) kernel.updateMerged(i, S, eta0);
    else kernel.update(i, S, eta0);
  }
}

/** Scratch of {@link trainEpoch}, allocated once per training run. */
interface EpochScratch {
  /** The rows with at least one positive, shuffled in place every epoch. */
  readonly order: Int32Array;
  /** Positives per row: the leading non-negative ids of its record. */
  readonly count: Int32Array;
  readonly cosines: Float64Array;
  readonly coefficients: Float64Array;
  readonly t: Float64Array;
}

function epochScratch(positives: KnnResult): EpochScratch {
  const { rows: n, k, ids } = positives;
  const count = new Int32Array(n);
  let active = 0;
  for (let i = 0; i < n; i++) {
    let c = 0;
    while (c < k && ids[i * k + c] >= 0) c++;
    count[i] = c;
    if (c > 0) active++;
  }
  const order = new Int32Array(active);
  for (let i = 0, j = 0; i < n; i++) if (count[i] > 0) order[j++] = i;
  return {
    order,
    count,
    cosines: new Float64Array(2 * k),
    coefficients: new Float64Array(2 * k),
    t: new Float64Array(2 * k),
  };
}

function createKernel(o: ResolvedEmbeddingOptions, layout: KernelLayout): TrainingKernel {
  const approx = o.rsqrt === "approx";
  if (o.kernel === "js") return createJsKernel(layout, approx);
  const wasm = createWasmKernel(layout, approx);
  if (wasm) return wasm;
  if (o.kernel === "wasm") {
    throw badOption(
      `kernel "wasm" is unavailable here (no WebAssembly SIMD, or ${layout.bytes} bytes of memory cannot be allocated)`,
    );
  }
  return createJsKernel(layout, approx);
}

function validateInput(input: EmbeddingInput): void {
  if (input === null || typeof input !== "object") {
    throw badInput(`input must be an object, but is ${input}`);
  }
  const { features, labels, rows } = input;
  if (
    !features ||
    !(features.indptr instanceof Int32Array) ||
    !(features.indices instanceof Int32Array) ||
    !(features.values instanceof Float32Array)
  ) {
    throw badInput(
      "features must be a CsrMatrix with Int32Array indptr/indices and Float32Array values",
    );
  }
  if (features.indptr.length !== features.rows + 1) {
    throw badInput(
      `features.indptr must have rows + 1 = ${features.rows + 1} entries, but has ${features.indptr.length}`,
    );
  }
  if (!labels || !(labels.indptr instanceof Int32Array)) {
    throw badInput("labels must be a LabelMatrix with an Int32Array indptr");
  }
  if (labels.rows !== features.rows) {
    throw badInput(
      `labels must have one row per feature row (${features.rows}), but has ${labels.rows}`,
    );
  }
  if (!(rows instanceof Int32Array)) throw badInput("rows must be an Int32Array of row ids");
  for (let i = 0; i < rows.length; i++) {
    if (!(rows[i] >= 0 && rows[i] < features.rows)) {
      throw badInput(`rows[${i}] must be a row id in [0, ${features.rows}), but is ${rows[i]}`);
    }
  }
}

function validatePositives(positives: KnnResult, n: number): void {
  if (positives.rows !== n) {
    throw badInput(
      `positives must have one record per partition row (${n}), but has ${positives.rows}`,
    );
  }
  if (!Number.isInteger(positives.k) || positives.k < 1) {
    throw badInput(`positives.k must be a positive integer, but is ${positives.k}`);
  }
  if (!(positives.ids instanceof Int32Array) || positives.ids.length !== n * positives.k) {
    throw badInput(`positives.ids must be an Int32Array of rows x k = ${n * positives.k} ids`);
  }
  for (let p = 0; p < positives.ids.length; p++) {
    const id = positives.ids[p];
    if (!(id >= -1 && id < n)) {
      throw badInput(`positives.ids[${p}] must be a local row id in [-1, ${n}), but is ${id}`);
    }
  }
}
