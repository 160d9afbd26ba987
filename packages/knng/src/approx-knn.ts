import {
  badOption,
  type DenseMatrix,
  type KnnResult,
  Rng,
  RowHeaps,
  stripUndefined,
  validateDense,
} from "@annexml/sparse-io";
import { type DenseKnnOptions, exactGraph, validateDenseKnnOptions } from "./dense-knn.js";
import { createVectorSpace, type SpaceKernelChoice, type VectorSpace } from "./space.js";

/** Options of {@link approxKnnGraph}. */
export interface ApproxKnnOptions extends DenseKnnOptions {
  /** Seed of the group centres' initialisation. Default 0x5eed. */
  seed?: number;
  /** Target rows per group (the number of groups is `round(n / groupSize)`). Default 32. */
  groupSize?: number;
  /** Groups every row is compared against (its nearest centres, its own first). Default 24. */
  probes?: number;
  /** Lloyd iterations refining the group centres (on a sample of 16 rows per centre). Default 2. */
  iterations?: number;
  /** NN-descent local joins after the grouped join. Default 1. */
  refine?: number;
  /** Neighbours (and as many reverse neighbours) per row in a local join. Default 10. */
  refineSample?: number;
  /** At or below this many rows the exact builder is used. Default 1500. */
  exactBelow?: number;
}

/** Defaults of {@link ApproxKnnOptions}. */
export const DEFAULT_APPROX_KNN_OPTIONS: Readonly<Required<Omit<ApproxKnnOptions, "k">>> =
  Object.freeze({
    metric: "l2",
    kernel: "auto",
    seed: 0x5eed,
    groupSize: 32,
    probes: 24,
    iterations: 2,
    refine: 1,
    refineSample: 10,
    exactBelow: 1500,
  });

/** Checks approximate kNN options; throws an `AnnexmlError` `BAD_OPTION` naming the bad value. */
export function validateApproxKnnOptions(options: ApproxKnnOptions): void {
  validateDenseKnnOptions(options);
  const { seed, groupSize, probes, iterations, refine, refineSample, exactBelow } = options;
  if (seed !== undefined && !Number.isInteger(seed)) {
    throw badOption(`seed must be an integer, but is ${seed}`);
  }
  const positive = { groupSize, probes, refineSample } as const;
  for (const [name, v] of Object.entries(positive)) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) {
      throw badOption(`${name} must be a positive integer, but is ${v}`);
    }
  }
  const nonNegative = { iterations, refine, exactBelow } as const;
  for (const [name, v] of Object.entries(nonNegative)) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
      throw badOption(`${name} must be a non-negative integer, but is ${v}`);
    }
  }
}

/**
 * An approximate kNN graph with the conventions of `exactKnnGraph`
 * (self excluded, l2 ascending / ip descending, ties to the lower id, -1
 * padding), built by a grouped join:
 *
 * 1. `m = round(n / groupSize)` centres (random rows by `seed`, refined by
 *    `iterations` Lloyd steps on a sample) split the rows into groups by
 *    nearest centre;
 * 2. every row is compared with all rows of the `probes` groups whose centres
 *    are nearest to it (its own first), each pair once and offered to both
 *    rows' bounded heaps;
 * 3. `refine` NN-descent local joins compare, around every row, its
 *    `refineSample` best neighbours and as many reverse neighbours pairwise
 *    (neighbours of neighbours), repairing rows near group borders.
 *
 * Cost: about `n * m * cols * (1 + iterations * 16 m / n)` multiply-adds
 * for the grouping, at most `n * probes * groupSize * cols` for the join
 * (less: a pair that both rows probe is computed once) and about
 * `refine * n * 2 refineSample^2 * cols` for the local joins, against
 * `n^2 / 2 * cols` for the exact graph. Falls back to the exact graph when
 * `n <= exactBelow` or `m <= probes`. Every distance, the grouping's
 * included, is computed by one `VectorSpace` kernel (WebAssembly SIMD where
 * it runs); the scores of the pairs found are the values that kernel
 * computes, as in `exactKnnGraph`.
 *
 * Deterministic for a given seed and platform. Grouping always uses squared
 * Euclidean distance, so with `"ip"` it suits (near) unit-norm vectors.
 */
export function approxKnnGraph(vectors: DenseMatrix, options: ApproxKnnOptions): KnnResult {
  validateDense(vectors, "vectors");
  validateApproxKnnOptions(options);
  const o = {
    ...DEFAULT_APPROX_KNN_OPTIONS,
    ...stripUndefined(options),
  } as Required<ApproxKnnOptions>;
  const n = vectors.rows;
  const m = Math.max(1, Math.round(n / o.groupSize));
  if (n <= o.exactBelow || m <= o.probes) return exactGraph(vectors, o.k, o.metric, o.kernel);
  const heaps = new RowHeaps(n, o.k);
  const sign = o.metric === "l2" ? -1 : 1;
  const grouping = groupRows(vectors, m, o.probes, o.iterations, new Rng(o.seed), o.kernel);
  // The rows in group order: each probed group is one contiguous block.
  const space = createVectorSpace(vectors, {
    metric: o.metric,
    order: grouping.order,
    capacity: Math.max(JOIN_CAPACITY, 2 * o.refineSample),
    kernel: o.kernel,
  });
  groupJoin(space, grouping, heaps);
  for (let pass = 0; pass < o.refine; pass++) {
    localJoin(space, grouping.position, heaps, o.refineSample);
  }
  return heaps.drain(sign);
}

/** Scratch entries of the joins' space: the partners one call takes. */
const JOIN_CAPACITY = 2048;

/** Rows per centre sampled for the Lloyd steps. */
const LLOYD_SAMPLE = 16;

/** Rows grouped by nearest centre, and each row's probe list. */
interface Grouping {
  /** Number of groups. */
  m: number;
  /** Rows ordered by group: group g holds `order[groupPtr[g] .. groupPtr[g + 1] - 1]`. */
  order: Int32Array;
  /** Inverse of `order`: row r is at position `position[r]`. */
  position: Int32Array;
  groupPtr: Int32Array;
  /** Each row's group. */
  group: Int32Array;
  /** Each row's `probes` nearest groups, nearest first (row r at `r * probes`). */
  probeList: Int32Array;
  probes: number;
  /** Bitset per row of its probed groups (`words` 32-bit words per row). */
  probeBits: Int32Array;
  words: number;
}

function groupRows(
  vectors: DenseMatrix,
  m: number,
  probes: number,
  iterations: number,
  rng: Rng,
  kernel: SpaceKernelChoice,
): Grouping {
  const { rows: n, cols, stride, data } = vectors;
  // Centres (packed, `cols` floats each): m distinct random rows, by a
  // partial Fisher–Yates shuffle.
  const pick = new Int32Array(n);
  for (let i = 0; i < n; i++) pick[i] = i;
  const centres = new Float32Array(m * cols);
  for (let c = 0; c < m; c++) {
    const t = c + rng.nextInt(n - c);
    const tmp = pick[c];
    pick[c] = pick[t];
    pick[t] = tmp;
    centres.set(data.subarray(pick[c] * stride, pick[c] * stride + cols), c * cols);
  }
  // Scores against all centres come from a space over the centres (inner
  // products), rewritten after every Lloyd step.
  const space = createVectorSpace(
    { rows: m, cols, stride: cols, data: centres },
    { metric: "ip", capacity: m, kernel },
  );
  const cnorm = new Float64Array(m);
  const updateCentres = () => {
    for (let g = 0; g < m; g++) {
      let s = 0;
      for (let d = g * cols, end = d + cols; d < end; d++) s += centres[d] * centres[d];
      cnorm[g] = s;
      space.writeRow(g, centres, g * cols);
    }
  };
  const group = new Int32Array(n);
  const dist = new Float64Array(m);
  const sums = new Float64Array(m * cols);
  const sizes = new Int32Array(m);
  // Lloyd steps on a random sample of LLOYD_SAMPLE rows per centre (the
  // rest of `pick` after the centres, then the centres themselves).
  const sample = Math.min(n, LLOYD_SAMPLE * m);
  for (let c = m; c < sample; c++) {
    const t = c + rng.nextInt(n - c);
    const tmp = pick[c];
    pick[c] = pick[t];
    pick[t] = tmp;
  }
  for (let it = 0; it < iterations; it++) {
    updateCentres();
    for (let s = 0; s < sample; s++) {
      const r = pick[s];
      centreScores(space, data, r * stride, cnorm, dist);
      group[r] = argMin(dist, m);
    }
    sums.fill(0);
    sizes.fill(0);
    for (let s = 0; s < sample; s++) {
      const i = pick[s];
      const g = group[i];
      sizes[g]++;
      const a = i * stride;
      const b = g * cols;
      for (let d = 0; d < cols; d++) sums[b + d] += data[a + d];
    }
    for (let g = 0; g < m; g++) {
      if (sizes[g] === 0) continue; // an empty group keeps its centre
      const inv = 1 / sizes[g];
      for (let d = g * cols, end = d + cols; d < end; d++) centres[d] = sums[d] * inv;
    }
  }
  updateCentres();
  // Final pass: every row's `probes` nearest centres; the first is its group.
  const words = (m + 31) >>> 5;
  const probeList = new Int32Array(n * probes);
  const probeBits = new Int32Array(n * words);
  const bestIds = new Int32Array(probes);
  const bestKeys = new Float64Array(probes);
  for (let r = 0; r < n; r++) {
    centreScores(space, data, r * stride, cnorm, dist);
    smallestK(dist, m, probes, bestIds, bestKeys);
    for (let p = 0; p < probes; p++) {
      const g = bestIds[p];
      probeList[r * probes + p] = g;
      probeBits[r * words + (g >>> 5)] |= 1 << (g & 31);
    }
    group[r] = bestIds[0];
  }
  const groupPtr = new Int32Array(m + 1);
  for (let i = 0; i < n; i++) groupPtr[group[i] + 1]++;
  for (let g = 0; g < m; g++) groupPtr[g + 1] += groupPtr[g];
  const order = new Int32Array(n);
  const position = new Int32Array(n);
  const next = groupPtr.slice(0, m);
  for (let i = 0; i < n; i++) {
    position[i] = next[group[i]]++;
    order[position[i]] = i;
  }
  return { m, order, position, groupPtr, group, probeList, probes, probeBits, words };
}

function argMin(values: Float64Array, m: number): number {
  let best = 0;
  for (let g = 1; g < m; g++) if (values[g] < values[best]) best = g;
  return best;
}

/**
 * For the row at `data[a ..]`, `|c|^2 - 2 <x, c>` for every centre c (the
 * squared distance less the row's own norm, which orders the centres
 * alike) into `dist`.
 */
function centreScores(
  space: VectorSpace,
  data: Float32Array,
  a: number,
  cnorm: Float64Array,
  dist: Float64Array,
): void {
  space.setQuery(data, a);
  space.toAll();
  const out = space.out;
  for (let g = 0, m = space.rows; g < m; g++) dist[g] = cnorm[g] - 2 * out[g];
}

/** The `p` smallest of `values[0..m)`, ascending (ties: lower index), into `ids` / `keys`. */
function smallestK(
  values: Float64Array,
  m: number,
  p: number,
  ids: Int32Array,
  keys: Float64Array,
): void {
  // Insertion into a sorted array: p is small.
  let count = 0;
  for (let g = 0; g < m; g++) {
    const v = values[g];
    if (count === p && !(v < keys[p - 1])) continue;
    let pos = count < p ? count++ : p - 1;
    while (pos > 0 && keys[pos - 1] > v) {
      keys[pos] = keys[pos - 1];
      ids[pos] = ids[pos - 1];
      pos--;
    }
    keys[pos] = v;
    ids[pos] = g;
  }
}

/**
 * Compares every row with the rows of its probed groups. The pair (x, y) is
 * computed once: by x when x probes y's group and y does not probe x's, by
 * the lower id when each probes the other's (always so within a group).
 * `space` holds the rows in group order (stored row q is row `order[q]`),
 * so each probed group is one contiguous block; all of a row's partners go
 * to the kernel in one call (or a few, when they exceed its capacity). The
 * heaps speak of original ids.
 */
function groupJoin(space: VectorSpace, grouping: Grouping, heaps: RowHeaps): void {
  const { order, groupPtr, group, probeList, probes, probeBits, words } = grouping;
  const n = space.rows;
  const ids = space.ids;
  const capacity = space.capacity;
  for (let qx = 0; qx < n; qx++) {
    const x = order[qx];
    const gx = group[x];
    const word = gx >>> 5;
    const bit = 1 << (gx & 31);
    let len = 0;
    for (let p = 0; p < probes; p++) {
      const g = probeList[x * probes + p];
      for (let q = groupPtr[g], end = groupPtr[g + 1]; q < end; q++) {
        const y = order[q];
        if (y === x || (y < x && (probeBits[y * words + word] & bit) !== 0)) continue;
        ids[len++] = q;
        if (len === capacity) {
          offerPartners(space, order, heaps, qx, len);
          len = 0;
        }
      }
    }
    if (len > 0) offerPartners(space, order, heaps, qx, len);
  }
}

/** Distances of stored row qx to `space.ids[0 .. len)`, each offered to both rows. */
function offerPartners(
  space: VectorSpace,
  order: Int32Array,
  heaps: RowHeaps,
  qx: number,
  len: number,
): void {
  space.toMany(len, qx);
  const { ids, out } = space;
  const { worstKey, worstId } = heaps;
  const sign = space.metric === "l2" ? -1 : 1;
  const x = order[qx];
  for (let t = 0; t < len; t++) {
    const y = order[ids[t]];
    const key = sign * out[t];
    let w = worstKey[x];
    if (key > w || (key === w && y < worstId[x])) heaps.insert(x, y, key);
    w = worstKey[y];
    if (key > w || (key === w && x < worstId[y])) heaps.insert(y, x, key);
  }
}

/**
 * One local join of NN-descent over the current graph: for every row v, the
 * `sample` best current neighbours of v and up to `sample` rows that hold v
 * among their own `sample` best are compared pairwise, and every pair is
 * offered to both rows (ids already held are skipped). Neighbours of
 * neighbours are likely neighbours, so this repairs rows near group
 * borders. Cost: about `n * (2 sample)^2 / 2` pairs. `position[r]` is row
 * r's stored row in `space` (capacity >= 2 sample).
 */
function localJoin(
  space: VectorSpace,
  position: Int32Array,
  heaps: RowHeaps,
  sample: number,
): void {
  const n = space.rows;
  const { k, ids, keys, counts } = heaps;
  const sign = space.metric === "l2" ? -1 : 1;
  const spaceIds = space.ids;
  const out = space.out;
  const s = Math.min(sample, k);
  // Each row's s best current neighbours (selection by repeated max over a copy).
  const best = new Int32Array(n * s).fill(-1);
  const tmpKeys = new Float64Array(k);
  const tmpIds = new Int32Array(k);
  for (let v = 0; v < n; v++) {
    const c = counts[v];
    for (let t = 0; t < c; t++) {
      tmpKeys[t] = keys[v * k + t];
      tmpIds[t] = ids[v * k + t];
    }
    for (let r = 0; r < Math.min(s, c); r++) {
      let arg = r;
      for (let t = r + 1; t < c; t++) {
        if (tmpKeys[t] > tmpKeys[arg] || (tmpKeys[t] === tmpKeys[arg] && tmpIds[t] < tmpIds[arg])) {
          arg = t;
        }
      }
      const kk = tmpKeys[arg];
      const ii = tmpIds[arg];
      tmpKeys[arg] = tmpKeys[r];
      tmpIds[arg] = tmpIds[r];
      tmpKeys[r] = kk;
      tmpIds[r] = ii;
      best[v * s + r] = ii;
    }
  }
  // Reverse lists (CSR), capped at s per row when joining.
  const revPtr = new Int32Array(n + 1);
  for (let p = 0; p < best.length; p++) if (best[p] >= 0) revPtr[best[p] + 1]++;
  for (let v = 0; v < n; v++) revPtr[v + 1] += revPtr[v];
  const rev = new Int32Array(revPtr[n]);
  const next = revPtr.slice(0, n);
  for (let u = 0; u < n; u++) {
    for (let r = 0; r < s; r++) {
      const v = best[u * s + r];
      if (v >= 0) rev[next[v]++] = u;
    }
  }
  const cand = new Int32Array(2 * s);
  for (let v = 0; v < n; v++) {
    let len = 0;
    for (let r = 0; r < s; r++) {
      const u = best[v * s + r];
      if (u >= 0) cand[len++] = u;
    }
    const forward = len;
    for (let p = revPtr[v], end = Math.min(revPtr[v + 1], revPtr[v] + s); p < end; p++) {
      const u = rev[p];
      let dup = false;
      for (let t = 0; t < forward; t++) if (cand[t] === u) dup = true;
      if (!dup) cand[len++] = u;
    }
    // Each candidate against the later ones, in one call.
    for (let x = 0; x + 1 < len; x++) {
      const a = cand[x];
      for (let y = x + 1; y < len; y++) spaceIds[y - x - 1] = position[cand[y]];
      space.toMany(len - x - 1, position[a]);
      for (let y = x + 1; y < len; y++) {
        const b = cand[y];
        const key = sign * out[y - x - 1];
        heaps.insertUnique(a, b, key);
        heaps.insertUnique(b, a, key);
      }
    }
  }
}
