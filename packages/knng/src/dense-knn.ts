import {
  badOption,
  type DenseMatrix,
  type KnnResult,
  RowHeaps,
  validateDense,
} from "@annexml/sparse-io";
import {
  createVectorSpace,
  type DenseMetric,
  type SpaceKernelChoice,
  type VectorSpace,
  validateDenseMetric,
  validateSpaceKernel,
} from "./space.js";

/** Options of the dense kNN graph builders. */
export interface DenseKnnOptions {
  /** Neighbours per row (out-edges, e.g. `num_edge` = 50). */
  k: number;
  /** Default `"l2"`. */
  metric?: DenseMetric;
  /**
   * Distance kernel (see `VectorSpace`): `"auto"` (default) the WebAssembly
   * SIMD kernel where it runs, else the JavaScript one.
   */
  kernel?: SpaceKernelChoice;
}

/** Defaults of {@link DenseKnnOptions} (k has none: the caller decides). */
export const DEFAULT_DENSE_KNN_OPTIONS: Readonly<{
  metric: DenseMetric;
  kernel: SpaceKernelChoice;
}> = Object.freeze({ metric: "l2", kernel: "auto" });

/** Checks dense kNN options; throws an `AnnexmlError` `BAD_OPTION` naming the bad value. */
export function validateDenseKnnOptions(options: DenseKnnOptions): void {
  if (options === null || typeof options !== "object") {
    throw badOption("options must be an object with at least k");
  }
  const { k, metric, kernel } = options;
  if (!(Number.isSafeInteger(k) && k > 0)) {
    throw badOption(`k must be a positive integer, but is ${k}`);
  }
  if (metric !== undefined) validateDenseMetric(metric);
  if (kernel !== undefined) validateSpaceKernel(kernel);
}

/**
 * Tile of the all-pairs matrix computed per call: `TILE_ROWS` rows against
 * `TILE_COLS` rows. The TILE_COLS rows (256 x 52 floats = 52 KiB) stay in
 * L2 while the rows of every earlier tile stream past them; the 16 KiB of
 * results are read back at once.
 */
const TILE_ROWS = 16;
const TILE_COLS = 256;

/** Scratch entries a space needs for {@link exactInto}. */
export const EXACT_TILE_CAPACITY = TILE_ROWS * TILE_COLS;

/**
 * The exact kNN graph of the rows of `vectors`: for every row, the k other
 * rows of smallest squared Euclidean distance (`"l2"`, scores ascending) or
 * largest inner product (`"ip"`, scores descending). Self is excluded; rows
 * with fewer than k others are padded with id -1, score 0.
 *
 * Scores are float32 as the space's kernel computes them (see
 * `VectorSpace`: the WebAssembly kernel sums in float32, the JavaScript
 * fallback in double, rounded to float32; the two may differ in the last
 * bits), and the ranking uses exactly these stored scores: best first,
 * equal scores to the lower id. Deterministic for a given platform.
 *
 * Each unordered pair is computed once, in tiles of the all-pairs matrix
 * (see {@link exactInto}), and offered to both rows' bounded heaps. Cost:
 * `n (n - 1) / 2 * cols` multiply-adds. Rows holding NaN never become
 * neighbours.
 */
export function exactKnnGraph(vectors: DenseMatrix, options: DenseKnnOptions): KnnResult {
  validateDense(vectors, "vectors");
  validateDenseKnnOptions(options);
  return exactGraph(
    vectors,
    options.k,
    options.metric ?? DEFAULT_DENSE_KNN_OPTIONS.metric,
    options.kernel ?? DEFAULT_DENSE_KNN_OPTIONS.kernel,
  );
}

/**
 * {@link exactKnnGraph} after validation: the rows go into the space in
 * {@link localityOrder}, the heaps follow that order (a tile's heaps lie
 * together in memory) and hold the caller's ids, and the drained rows are
 * put back in the caller's order.
 */
export function exactGraph(
  vectors: DenseMatrix,
  k: number,
  metric: DenseMetric,
  kernel: SpaceKernelChoice,
): KnnResult {
  const n = vectors.rows;
  const order = localityOrder(vectors, kernel);
  const space = createVectorSpace(vectors, {
    metric,
    capacity: EXACT_TILE_CAPACITY,
    kernel,
    order,
  });
  const heaps = new RowHeaps(n, k);
  exactInto(space, heaps, order);
  const stored = heaps.drain(metric === "l2" ? -1 : 1);
  const ids = new Int32Array(n * k);
  const scores = new Float32Array(n * k);
  for (let p = 0; p < n; p++) {
    const to = order[p] * k;
    ids.set(stored.ids.subarray(p * k, (p + 1) * k), to);
    scores.set(stored.scores.subarray(p * k, (p + 1) * k), to);
  }
  return { rows: n, k, ids, scores };
}

/** Rows per pivot of {@link localityOrder}. */
const ROWS_PER_PIVOT = 64;

/**
 * A permutation of the rows that puts similar rows near each other: rows
 * sorted by their nearest of `n / 64` pivots (every 64th row), ties by id.
 * The exact graph's result does not depend on the order in which it meets
 * the pairs, but its heaps fill with good candidates sooner when the tiles
 * near the diagonal hold similar rows, and then admit far fewer insertions.
 */
function localityOrder(vectors: DenseMatrix, kernel: SpaceKernelChoice): Int32Array {
  const n = vectors.rows;
  const order = new Int32Array(n);
  if (n === 0) return order;
  const p = Math.max(1, Math.floor(n / ROWS_PER_PIVOT));
  const pivots = new Int32Array(p);
  for (let g = 0; g < p; g++) pivots[g] = g * ROWS_PER_PIVOT;
  const space = createVectorSpace(vectors, { metric: "l2", order: pivots, capacity: p, kernel });
  const group = new Int32Array(n);
  const counts = new Int32Array(p + 1);
  const out = space.out;
  for (let r = 0; r < n; r++) {
    space.setQuery(vectors.data, r * vectors.stride);
    space.toAll();
    let best = 0;
    for (let g = 1; g < p; g++) if (out[g] < out[best]) best = g;
    group[r] = best;
    counts[best + 1]++;
  }
  for (let g = 0; g < p; g++) counts[g + 1] += counts[g];
  for (let r = 0; r < n; r++) order[counts[group[r]]++] = r;
  return order;
}

/**
 * Offers every pair of stored rows of `space` to `heaps`, each pair
 * computed once: heap row i is stored row i, and the ids it holds are
 * `ids[stored row]` (or the stored row itself), so ties go to the lower of
 * those ids. Keys: the inner product, or the negated squared distance.
 * `space.capacity` must be at least {@link EXACT_TILE_CAPACITY}.
 *
 * Tiles run column block by column block, and within one from the
 * diagonal outwards: with rows in a locality order (similar rows near each
 * other) each row meets its likely neighbours first, and its heap admits
 * fewer insertions later (about 170 per row instead of 280 at n = 4880,
 * k = 50).
 */
export function exactInto(
  space: VectorSpace,
  heaps: RowHeaps,
  ids: Int32Array | null = null,
): void {
  const n = space.rows;
  const sign = space.metric === "l2" ? -1 : 1;
  const { worstKey, worstId } = heaps;
  const out = space.out;
  for (let jb = 0; jb < n; jb += TILE_COLS) {
    const jEnd = Math.min(n, jb + TILE_COLS);
    // Row blocks i < jEnd against the columns j > i of this block, the
    // diagonal block first.
    const last = Math.floor((jEnd - 2) / TILE_ROWS) * TILE_ROWS;
    for (let ib = last; ib >= 0; ib -= TILE_ROWS) {
      const iEnd = Math.min(jEnd - 1, ib + TILE_ROWS);
      const j0 = Math.max(jb, ib + 1);
      const nj = jEnd - j0;
      space.tile(ib, iEnd - ib, j0, nj);
      for (let i = ib; i < iEnd; i++) {
        const o = (i - ib) * nj - j0;
        const idi = ids === null ? i : ids[i];
        // Row i's worst entry, re-read only after an insertion into its heap.
        let wi = worstKey[i];
        let wid = worstId[i];
        for (let j = Math.max(j0, i + 1); j < jEnd; j++) {
          const key = sign * out[o + j];
          const idj = ids === null ? j : ids[j];
          if (key > wi || (key === wi && idj < wid)) {
            heaps.insert(i, idj, key);
            wi = worstKey[i];
            wid = worstId[i];
          }
          const wj = worstKey[j];
          if (key > wj || (key === wj && idi < worstId[j])) heaps.insert(j, idi, key);
        }
      }
    }
  }
}
