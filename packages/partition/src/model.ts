import type { CsrMatrix } from "@annexml/sparse-io";
import { badInput } from "@annexml/sparse-io";
import type { PartitionArrays, PartitionModel } from "./types.js";

/**
 * Adds `<x, c_k>` to `scores[k]` for every partition k, for the sparse row
 * `x = (indices[p], values[p]), p = from .. to - 1`, reading the inverted
 * index `featurePtr / partitions / weights`. Features `< 0` or
 * `>= numFeatures` are skipped. Sums in double precision, feature by feature
 * in row order (so every producer of the same weights gets bit-identical
 * scores). The caller zeroes `scores`; `at` offsets every index into it
 * (row `t` of a row-major score matrix: `at = t k`).
 */
export function accumulateInvertedScores(
  featurePtr: Int32Array,
  partitions: Int32Array,
  weights: Float32Array,
  numFeatures: number,
  indices: Int32Array,
  values: Float32Array,
  from: number,
  to: number,
  scores: Float64Array,
  at = 0,
): void {
  for (let p = from; p < to; p++) {
    const f = indices[p];
    if (f >= numFeatures || f < 0) continue;
    const v = values[p];
    for (let q = featurePtr[f], end = featurePtr[f + 1]; q < end; q++) {
      scores[at + partitions[q]] += weights[q] * v;
    }
  }
}

/** The index of the largest of `scores[0 .. k - 1]`, the lowest index winning ties. */
export function argmaxLowest(scores: Float64Array, k: number): number {
  let best = 0;
  let bestScore = scores[0];
  for (let c = 1; c < k; c++) {
    if (scores[c] > bestScore) {
      bestScore = scores[c];
      best = c;
    }
  }
  return best;
}

/**
 * What every stored partitioning shares: `assign` and `assignAll` over the
 * one `assignRange` each kind defines (one row of a CSR slice).
 */
abstract class RangeAssigner implements PartitionModel {
  constructor(
    readonly k: number,
    readonly numFeatures: number,
  ) {}

  assign(indices: Int32Array, values: Float32Array): number {
    if (values.length < indices.length) {
      throw badInput(
        `values must have at least indices.length = ${indices.length} entries, but has ${values.length}`,
      );
    }
    return this.assignRange(indices, values, 0, indices.length);
  }

  assignAll(m: CsrMatrix): Int32Array {
    const out = new Int32Array(m.rows);
    // One partition (a flat model, or a tree of one leaf): every row is 0.
    if (this.k === 1) return out;
    const { indptr, indices, values } = m;
    for (let r = 0; r < m.rows; r++)
      out[r] = this.assignRange(indices, values, indptr[r], indptr[r + 1]);
    return out;
  }

  abstract toArrays(): PartitionArrays;

  /** The partition of the row `indices / values [from, to)`. */
  protected abstract assignRange(
    indices: Int32Array,
    values: Float32Array,
    from: number,
    to: number,
  ): number;
}

/**
 * A {@link PartitionModel} over an inverted index of non-zero weights. The
 * score accumulator is allocated once per model, so `assign` allocates
 * nothing (and a model must not be shared between threads, which JS does not
 * do anyway).
 */
class InvertedIndexModel extends RangeAssigner {
  private readonly featurePtr: Int32Array;
  private readonly partitions: Int32Array;
  private readonly weights: Float32Array;
  private readonly bias: Float32Array | undefined;
  private readonly scores: Float64Array;

  constructor(arrays: PartitionArrays) {
    super(arrays.k, arrays.numFeatures);
    this.featurePtr = arrays.featurePtr;
    this.partitions = arrays.partitions;
    this.weights = arrays.weights;
    this.bias = arrays.bias;
    this.scores = new Float64Array(arrays.k);
  }

  toArrays(): PartitionArrays {
    const arrays: PartitionArrays = {
      k: this.k,
      numFeatures: this.numFeatures,
      featurePtr: this.featurePtr,
      partitions: this.partitions,
      weights: this.weights,
    };
    return this.bias ? { ...arrays, bias: this.bias } : arrays;
  }

  protected assignRange(
    indices: Int32Array,
    values: Float32Array,
    from: number,
    to: number,
  ): number {
    const k = this.k;
    if (k === 1) return 0;
    const scores = this.scores;
    scores.fill(0);
    accumulateInvertedScores(
      this.featurePtr,
      this.partitions,
      this.weights,
      this.numFeatures,
      indices,
      values,
      from,
      to,
      scores,
    );
    const bias = this.bias;
    if (bias) for (let c = 0; c < k; c++) scores[c] += bias[c];
    return argmaxLowest(scores, k);
  }
}

/**
 * A tree {@link PartitionModel} (see {@link PartitionArrays}): a row
 * descends from the root, at each internal node to the child of best
 * centre (lowest child on ties), reading that node's entries of every
 * feature of the row (centre ids of a node are contiguous and ascend within
 * a feature, so a binary search finds them). Scratch allocated once.
 */
class TreeModel extends RangeAssigner {
  private readonly arrays: PartitionArrays;
  private readonly featurePtr: Int32Array;
  private readonly partitions: Int32Array;
  private readonly weights: Float32Array;
  private readonly childPtr: Int32Array;
  private readonly child: Int32Array;
  private readonly bias: Float32Array | undefined;
  private readonly scores: Float64Array;

  constructor(arrays: PartitionArrays & { treeChildPtr: Int32Array; treeChild: Int32Array }) {
    super(arrays.k, arrays.numFeatures);
    this.arrays = arrays;
    this.featurePtr = arrays.featurePtr;
    this.partitions = arrays.partitions;
    this.weights = arrays.weights;
    this.childPtr = arrays.treeChildPtr;
    this.child = arrays.treeChild;
    this.bias = arrays.bias;
    let widest = 1;
    for (let i = 0; i + 1 < this.childPtr.length; i++) {
      widest = Math.max(widest, this.childPtr[i + 1] - this.childPtr[i]);
    }
    this.scores = new Float64Array(widest);
  }

  toArrays(): PartitionArrays {
    return this.arrays;
  }

  protected assignRange(
    indices: Int32Array,
    values: Float32Array,
    from: number,
    to: number,
  ): number {
    const { featurePtr, partitions, weights, childPtr, child, bias, scores, numFeatures } = this;
    let node = 0;
    for (;;) {
      const lo = childPtr[node];
      const hi = childPtr[node + 1];
      const b = hi - lo;
      scores.fill(0, 0, b);
      for (let p = from; p < to; p++) {
        const f = indices[p];
        if (f >= numFeatures || f < 0) continue;
        // First entry of feature f with centre id >= lo.
        let a = featurePtr[f];
        let z = featurePtr[f + 1];
        while (a < z) {
          const mid = (a + z) >>> 1;
          if (partitions[mid] < lo) a = mid + 1;
          else z = mid;
        }
        const v = values[p];
        for (let q = a, end = featurePtr[f + 1]; q < end && partitions[q] < hi; q++) {
          scores[partitions[q] - lo] += weights[q] * v;
        }
      }
      if (bias) for (let c = 0; c < b; c++) scores[c] += bias[lo + c];
      const next = child[lo + argmaxLowest(scores, b)];
      if (next < 0) return -1 - next;
      node = next;
    }
  }
}

/**
 * Checks the tree fields of {@link PartitionArrays} (when present) and
 * returns the number of centre ids: `k` for a flat model, `treeChild.length`
 * for a tree. Rejects cycles (a child node id must exceed its parent's),
 * out-of-range ids and nodes or leaves without exactly one parent.
 */
function validateTree(arrays: PartitionArrays): number {
  const { k, treeChildPtr: ptr, treeChild: child } = arrays;
  if (ptr === undefined && child === undefined) return k;
  if (!(ptr instanceof Int32Array) || !(child instanceof Int32Array)) {
    throw badInput("treeChildPtr and treeChild must both be Int32Arrays (or both absent)");
  }
  const nodes = ptr.length - 1;
  if (nodes < 1 || ptr[0] !== 0 || ptr[nodes] !== child.length) {
    throw badInput(
      `treeChildPtr must run from 0 to the centre count ${child.length} over at least one node, but has ${ptr.length} entries from ${ptr[0]} to ${ptr[nodes]}`,
    );
  }
  const seenNode = new Uint8Array(nodes);
  const seenLeaf = new Uint8Array(k);
  for (let i = 0; i < nodes; i++) {
    if (!(ptr[i + 1] > ptr[i])) {
      throw badInput(
        `tree node ${i} must have at least one child, but treeChildPtr is ${ptr[i]} then ${ptr[i + 1]}`,
      );
    }
    for (let e = ptr[i]; e < ptr[i + 1]; e++) {
      const v = child[e];
      if (v >= 0) {
        if (v <= i || v >= nodes || seenNode[v]) {
          throw badInput(
            `tree child ${e} of node ${i} must be an unused node in (${i}, ${nodes}), but is ${v}`,
          );
        }
        seenNode[v] = 1;
      } else {
        const leaf = -1 - v;
        if (leaf >= k || seenLeaf[leaf]) {
          throw badInput(
            `tree child ${e} of node ${i} must be an unused leaf in [0, ${k}), but is ${leaf}`,
          );
        }
        seenLeaf[leaf] = 1;
      }
    }
  }
  for (let i = 1; i < nodes; i++) if (!seenNode[i]) throw badInput(`tree node ${i} has no parent`);
  for (let c = 0; c < k; c++)
    if (!seenLeaf[c]) throw badInput(`partition ${c} is no leaf of the tree`);
  return child.length;
}

/**
 * Checks the invariants of {@link PartitionArrays} and throws an
 * `AnnexmlError` `BAD_INPUT` naming the first violation. O(entries + numFeatures).
 */
export function validatePartitionArrays(arrays: PartitionArrays): void {
  if (typeof arrays !== "object" || arrays === null) {
    throw badInput(`partition arrays must be an object, but is ${arrays}`);
  }
  const { k, numFeatures, featurePtr, partitions, weights } = arrays;
  if (!Number.isInteger(k) || k < 1) throw badInput(`k must be a positive integer, but is ${k}`);
  const centres = validateTree(arrays);
  if (!Number.isInteger(numFeatures) || numFeatures < 0) {
    throw badInput(`numFeatures must be a non-negative integer, but is ${numFeatures}`);
  }
  if (!(featurePtr instanceof Int32Array)) throw badInput("featurePtr must be an Int32Array");
  if (!(partitions instanceof Int32Array)) throw badInput("partitions must be an Int32Array");
  if (!(weights instanceof Float32Array)) throw badInput("weights must be a Float32Array");
  const { bias } = arrays;
  if (bias !== undefined) {
    if (!(bias instanceof Float32Array) || bias.length !== centres) {
      throw badInput(
        `bias must be a Float32Array of one entry per centre (${centres}), but has ${bias instanceof Float32Array ? bias.length : typeof bias}`,
      );
    }
    for (let c = 0; c < centres; c++) {
      if (!Number.isFinite(bias[c]))
        throw badInput(`bias of centre ${c} must be finite, but is ${bias[c]}`);
    }
  }
  if (featurePtr.length !== numFeatures + 1) {
    throw badInput(
      `featurePtr must have numFeatures + 1 = ${numFeatures + 1} entries, but has ${featurePtr.length}`,
    );
  }
  if (weights.length !== partitions.length) {
    throw badInput(
      `weights must have as many entries as partitions (${partitions.length}), but has ${weights.length}`,
    );
  }
  if (featurePtr[0] !== 0 || featurePtr[numFeatures] !== partitions.length) {
    throw badInput(
      `featurePtr must start at 0 and end at the entry count ${partitions.length}, but runs from ${featurePtr[0]} to ${featurePtr[numFeatures]}`,
    );
  }
  for (let f = 0; f < numFeatures; f++) {
    if (featurePtr[f + 1] < featurePtr[f]) {
      throw badInput(
        `featurePtr decreases at feature ${f} (${featurePtr[f]} > ${featurePtr[f + 1]})`,
      );
    }
  }
  for (let f = 0; f < numFeatures; f++) {
    const from = featurePtr[f];
    const to = featurePtr[f + 1];
    let previous = -1;
    for (let p = from; p < to; p++) {
      const c = partitions[p];
      if (c <= previous || c >= centres) {
        throw badInput(
          `feature ${f} must list sorted unique ${centres === k && arrays.treeChild === undefined ? "partitions" : "centres"} in [0, ${centres}), but has ${c} after ${previous}`,
        );
      }
      previous = c;
      const w = weights[p];
      if (!Number.isFinite(w) || w === 0) {
        throw badInput(
          `weight of feature ${f}, partition ${c} must be finite and non-zero, but is ${w}`,
        );
      }
    }
  }
}

/**
 * A model from plain arrays (e.g. read back from a model file), after
 * {@link validatePartitionArrays}. The arrays are used as they are, not
 * copied: do not mutate them afterwards.
 */
export function partitionModelFromArrays(arrays: PartitionArrays): PartitionModel {
  validatePartitionArrays(arrays);
  return trustedModel(arrays);
}

/** The trivial model of K = 1: every row goes to partition 0. */
export function singlePartitionModel(numFeatures: number): PartitionModel {
  return new InvertedIndexModel({
    k: 1,
    numFeatures,
    featurePtr: new Int32Array(numFeatures + 1),
    partitions: new Int32Array(0),
    weights: new Float32Array(0),
  });
}

/** Internal: wraps arrays a trainer built (already valid), skipping the O(n) check. */
export function trustedModel(arrays: PartitionArrays): PartitionModel {
  const { treeChildPtr, treeChild } = arrays;
  if (treeChildPtr !== undefined && treeChild !== undefined) {
    return new TreeModel({ ...arrays, treeChildPtr, treeChild });
  }
  return new InvertedIndexModel(arrays);
}

/**
 * Internal: copies an inverted index into exact-size arrays, dropping zero
 * weights (the model stores non-zeros only). `featurePtr` has
 * `numFeatures + 1` entries; the order within each feature is kept.
 */
export function compactInvertedIndex(
  k: number,
  numFeatures: number,
  featurePtr: Int32Array,
  partitions: Int32Array,
  weights: Float32Array,
): PartitionArrays {
  let total = 0;
  const end = featurePtr[numFeatures];
  for (let p = 0; p < end; p++) if (weights[p] !== 0) total++;
  const outPtr = new Int32Array(numFeatures + 1);
  const outPartitions = new Int32Array(total);
  const outWeights = new Float32Array(total);
  let q = 0;
  for (let f = 0; f < numFeatures; f++) {
    for (let p = featurePtr[f], e = featurePtr[f + 1]; p < e; p++) {
      if (weights[p] === 0) continue;
      outPartitions[q] = partitions[p];
      outWeights[q++] = weights[p];
    }
    outPtr[f + 1] = q;
  }
  return { k, numFeatures, featurePtr: outPtr, partitions: outPartitions, weights: outWeights };
}
