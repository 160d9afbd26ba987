import { type CsrMatrix, deriveSeed, type LabelMatrix, Rng, selectRows } from "@annexml/sparse-io";
import { fitKmeans } from "./kmeans.js";
import { fitMincut } from "./mincut.js";
import {
  accumulateInvertedScores,
  argmaxLowest,
  singlePartitionModel,
  trustedModel,
} from "./model.js";
import {
  type ResolvedPartitionOptions,
  resolvePartitionCount,
  validateFitInput,
  validatePartitionOptions,
} from "./options.js";
import type {
  PartitionArrays,
  Partitioner,
  PartitionModel,
  PartitionOptions,
  TreeSplitter,
} from "./types.js";

/** The node splitters of the tree, by name. */
const SPLITTERS: Readonly<Record<TreeSplitter, typeof fitKmeans>> = Object.freeze({
  kmeans: fitKmeans,
  mincut: fitMincut,
});

/**
 * Leaves per child: every child gets one, the other `m - b` go to the
 * children in proportion to their row counts (largest remainder, the lower
 * child winning ties). Sums to `m`; `sizes.length <= m`.
 */
export function allocateLeaves(sizes: Int32Array, m: number): Int32Array {
  const b = sizes.length;
  const out = new Int32Array(b).fill(1);
  let n = 0;
  for (let c = 0; c < b; c++) n += sizes[c];
  const spare = m - b;
  if (spare <= 0 || n === 0) {
    out[0] += Math.max(spare, 0);
    return out;
  }
  const remainders = new Float64Array(b);
  let given = 0;
  for (let c = 0; c < b; c++) {
    const share = (spare * sizes[c]) / n;
    const whole = Math.floor(share);
    out[c] += whole;
    given += whole;
    remainders[c] = share - whole;
  }
  for (; given < spare; given++) {
    let best = 0;
    for (let c = 1; c < b; c++) if (remainders[c] > remainders[best]) best = c;
    out[best]++;
    remainders[best] = -1;
  }
  return out;
}

/** One internal node while the tree is built. */
interface PendingNode {
  /** Global ids of the node's training rows. */
  rows: Int32Array;
  /** Leaves below the node (>= 2). */
  leaves: number;
}

/**
 * Hierarchical partitioning (ALGORITHM.md 2, "tree"): the rows are split
 * recursively, each internal node training a flat partitioner with
 * {@link childCount}`(leaves, treeBranching)` parts (at most its rows) on
 * its own rows only, with every other option as given: `treeSplitter`
 * (default min-cut) at the nodes whose children are leaves,
 * `treeUpperSplitter` (default min-cut, on a sample of at most
 * `treeSampleRows` rows, all rows routed by the result) above them;
 * the node's K leaves are shared among its children (one each, the rest in
 * proportion to their rows: {@link allocateLeaves}), and a child with one
 * leaf is a final partition, so a big child is split further. A row is
 * scored against at most `treeBranching` centres per level, `O(N log K)` per fit instead of
 * `O(N K)`.
 *
 * Nodes are trained breadth first; the root uses `seed` itself (so when
 * `treeBranching >= K` the tree is exactly the flat splitter's model), node
 * `i > 0` uses `deriveSeed(seed, i)` (and `deriveSeed(seed, i, 1)` to draw
 * its sample). A min-cut node whose rows have no label is split by k-means;
 * a node whose training rows have no feature, or fewer rows than parts,
 * gets empty centres (its rows go to its first child, the other leaves stay
 * empty). Deterministic: same inputs and options, same model.
 *
 * `onEpoch` hears every node's epochs, numbered consecutively; `onProgress`
 * counts row visits (`iters` per row per level) against an estimate of the
 * depth, never decreasing, ending at `(total, total)`.
 */
export function fitTree(
  features: CsrMatrix,
  labels: LabelMatrix,
  options: PartitionOptions = {},
): PartitionModel {
  const o = validatePartitionOptions(options);
  validateFitInput(
    features,
    labels,
    o.treeSplitter === "mincut" || o.treeUpperSplitter === "mincut",
  );
  const k = resolvePartitionCount(features.rows, o);
  if (k === 1) return singlePartitionModel(features.cols);
  const branching = o.treeBranching;
  const numFeatures = features.cols;

  const total = o.iters * features.rows * estimatedDepth(k, branching);
  let done = 0;
  let epochs = 0;
  const onProgress = o.onProgress;
  onProgress?.(0, total);

  // Breadth-first: internal node i is `queue[i]`; its children are centre ids
  // childPtr[i] .. childPtr[i + 1] - 1, created in order, so a child always
  // gets a larger internal id than its parent.
  const scratch = new Int32Array(numFeatures).fill(-1);
  const all = new Int32Array(features.rows);
  for (let r = 0; r < all.length; r++) all[r] = r;
  const queue: PendingNode[] = [{ rows: all, leaves: k }];
  const childPtr: number[] = [0];
  const child: number[] = [];
  const nodeArrays: PartitionArrays[] = [];
  let leafCount = 0;

  for (let i = 0; i < queue.length; i++) {
    const { rows, leaves } = queue[i];
    queue[i] = { rows: new Int32Array(0), leaves }; // release the row list
    const { arrays, assignment, parts } = splitNode(features, labels, rows, leaves, i, o, scratch, {
      onEpoch: (info) => o.onEpoch?.({ ...info, epoch: ++epochs }),
      onProgress: (d) => {
        if (onProgress) onProgress(Math.min(done + d, total - 1), total);
      },
    });
    done = Math.min(
      done + o.iters * Math.min(rows.length, trainedRows(leaves, rows.length, o)),
      total - 1,
    );
    onProgress?.(done, total);
    nodeArrays.push(arrays);
    const sizes = new Int32Array(parts);
    for (let t = 0; t < assignment.length; t++) sizes[assignment[t]]++;
    const share = allocateLeaves(sizes, leaves);
    const next = new Int32Array(parts + 1);
    for (let c = 0; c < parts; c++) next[c + 1] = next[c] + sizes[c];
    const grouped = new Int32Array(rows.length);
    const fill = next.slice(0, parts);
    for (let t = 0; t < rows.length; t++) grouped[fill[assignment[t]]++] = rows[t];
    for (let c = 0; c < parts; c++) {
      if (share[c] === 1) child.push(-1 - leafCount++);
      else {
        child.push(queue.length);
        queue.push({ rows: grouped.subarray(next[c], next[c + 1]), leaves: share[c] });
      }
    }
    childPtr.push(child.length);
  }
  onProgress?.(total, total);
  // One level only: the flat model itself (the same arrays a flat fit stores).
  if (queue.length === 1) return trustedModel(nodeArrays[0]);
  return trustedModel(mergeTree(k, numFeatures, nodeArrays, Int32Array.from(childPtr), child));
}

/**
 * Children of a node of `m` leaves: the fewest that keep the subtree as
 * shallow as `b`-way nodes allow, i.e. `ceil(m / b^(d - 1))` with `d =
 * ceil(log_b m)` levels. So `m <= b` gives `m` (the node's children are
 * leaves: the flat `treeSplitter` with up to b parts does the fine split)
 * and `b < m <= b^2` gives `ceil(m / b)` children of at most `b` leaves.
 */
export function childCount(m: number, b: number): number {
  let cap = 1;
  while (cap * b < m) cap *= b;
  return Math.ceil(m / cap);
}

/** The rows a node of `leaves` leaves and `n` rows trains on. */
function trainedRows(leaves: number, n: number, o: ResolvedPartitionOptions): number {
  const upper = childCount(leaves, o.treeBranching) !== leaves;
  return upper && o.treeSampleRows > 0 ? Math.min(n, o.treeSampleRows) : n;
}

/** Levels of a tree of `k` leaves built with {@link childCount} (>= 1). */
function estimatedDepth(k: number, b: number): number {
  let depth = 0;
  for (let m = k; m > 1; m = Math.ceil(m / childCount(m, b))) depth++;
  return Math.max(depth, 1);
}

/**
 * Trains internal node `id` on `rows` (upper nodes: on a sample of at most
 * `treeSampleRows` of them), in the compact feature space of its training
 * rows (a smaller state than the global one, so it stays in cache; feature
 * order is kept, so the sums and the model are the same as in the global
 * space): the flat model of its children (partitions `0 .. parts - 1`,
 * global feature ids) and the child of each of `rows` by that model
 * (lowest child on ties, as `assign`).
 */
function splitNode(
  features: CsrMatrix,
  labels: LabelMatrix,
  rows: Int32Array,
  leaves: number,
  id: number,
  o: ResolvedPartitionOptions,
  scratch: Int32Array,
  hooks: Pick<PartitionOptions, "onEpoch" | "onProgress">,
): { arrays: PartitionArrays; assignment: Int32Array; parts: number } {
  const n = rows.length;
  const branches = childCount(leaves, o.treeBranching);
  const parts = Math.max(1, Math.min(branches, n));
  const upper = branches !== leaves;
  let train = rows;
  if (upper && o.treeSampleRows > 0 && n > o.treeSampleRows) {
    const pick = rows.slice();
    new Rng(deriveSeed(o.seed, id, 1)).shuffle(pick);
    train = pick.subarray(0, o.treeSampleRows).sort();
  }
  const whole = id === 0 && train === rows;
  const compact = whole ? null : compactRows(features, train, scratch);
  const x = compact ?? features;
  const y = whole ? labels : selectRows(labels, train);
  const m = train.length;
  let fit = SPLITTERS[upper ? o.treeUpperSplitter : o.treeSplitter];
  if (m > 0 && fit === fitMincut && y.indptr[m] === 0) fit = fitKmeans;
  if (parts < 2 || x.indptr[m] === 0 || m < parts) {
    // Nothing to learn: `leaves` empty centres, every row goes to child 0.
    return {
      arrays: {
        k: leaves,
        numFeatures: features.cols,
        featurePtr: new Int32Array(features.cols + 1),
        partitions: new Int32Array(0),
        weights: new Float32Array(0),
      },
      assignment: new Int32Array(n),
      parts: leaves,
    };
  }
  const model = fit(x, y, {
    k: parts,
    iters: o.iters,
    seed: id === 0 ? o.seed : deriveSeed(o.seed, id),
    eta0: o.eta0,
    lambda: o.lambda,
    numNeighbours: o.numNeighbours,
    labelNormalize: o.labelNormalize,
    pruneBudget: o.pruneBudget,
    memoryBudgetBytes: o.memoryBudgetBytes,
    balance: o.balance,
    ...hooks,
  });
  const arrays = compact
    ? globalArrays(model.toArrays(), compact.featureIds, features.cols)
    : model.toArrays();
  const bias = arrays.bias;
  // Route every row of the node (not only the sample) with the final model.
  const assignment = new Int32Array(n);
  const scores = new Float64Array(parts);
  const { indptr, indices, values } = features;
  for (let t = 0; t < n; t++) {
    const r = rows[t];
    scores.fill(0);
    accumulateInvertedScores(
      arrays.featurePtr,
      arrays.partitions,
      arrays.weights,
      arrays.numFeatures,
      indices,
      values,
      indptr[r],
      indptr[r + 1],
      scores,
    );
    if (bias) for (let c = 0; c < parts; c++) scores[c] += bias[c];
    assignment[t] = argmaxLowest(scores, parts);
  }
  return { arrays, assignment, parts };
}

/**
 * The rows `rows` of `features` with their features renumbered `0 .. F' - 1`
 * in ascending order of the global ids `featureIds` (the features present).
 * `scratch` is an `Int32Array(features.cols)` of -1, left so on return.
 */
function compactRows(
  features: CsrMatrix,
  rows: Int32Array,
  scratch: Int32Array,
): CsrMatrix & { featureIds: Int32Array } {
  const { indptr, indices, values } = features;
  const used: number[] = [];
  let nnz = 0;
  for (let t = 0; t < rows.length; t++) {
    const r = rows[t];
    nnz += indptr[r + 1] - indptr[r];
    for (let p = indptr[r]; p < indptr[r + 1]; p++) {
      const f = indices[p];
      if (scratch[f] < 0) {
        scratch[f] = 0;
        used.push(f);
      }
    }
  }
  const featureIds = Int32Array.from(used).sort();
  for (let j = 0; j < featureIds.length; j++) scratch[featureIds[j]] = j;
  const outPtr = new Int32Array(rows.length + 1);
  const outIndices = new Int32Array(nnz);
  const outValues = new Float32Array(nnz);
  let q = 0;
  for (let t = 0; t < rows.length; t++) {
    const r = rows[t];
    for (let p = indptr[r]; p < indptr[r + 1]; p++) {
      outIndices[q] = scratch[indices[p]];
      outValues[q++] = values[p];
    }
    outPtr[t + 1] = q;
  }
  for (let j = 0; j < featureIds.length; j++) scratch[featureIds[j]] = -1;
  return {
    rows: rows.length,
    cols: featureIds.length,
    indptr: outPtr,
    indices: outIndices,
    values: outValues,
    featureIds,
  };
}

/** A model over compact features, back in the global feature space (entry order kept). */
function globalArrays(
  a: PartitionArrays,
  featureIds: Int32Array,
  numFeatures: number,
): PartitionArrays {
  const featurePtr = new Int32Array(numFeatures + 1);
  for (let j = 0; j < featureIds.length; j++) {
    featurePtr[featureIds[j] + 1] = a.featurePtr[j + 1] - a.featurePtr[j];
  }
  for (let f = 0; f < numFeatures; f++) featurePtr[f + 1] += featurePtr[f];
  const out = { k: a.k, numFeatures, featurePtr, partitions: a.partitions, weights: a.weights };
  return a.bias ? { ...out, bias: a.bias } : out;
}

/**
 * One inverted index over every node's centres: node i's child c is centre
 * `childPtr[i] + c`; within a feature the entries come node by node, so
 * centre ids ascend.
 */
function mergeTree(
  k: number,
  numFeatures: number,
  nodes: readonly PartitionArrays[],
  childPtr: Int32Array,
  child: readonly number[],
): PartitionArrays {
  const featurePtr = new Int32Array(numFeatures + 1);
  for (const a of nodes) {
    for (let f = 0; f < numFeatures; f++)
      featurePtr[f + 1] += a.featurePtr[f + 1] - a.featurePtr[f];
  }
  for (let f = 0; f < numFeatures; f++) featurePtr[f + 1] += featurePtr[f];
  const partitions = new Int32Array(featurePtr[numFeatures]);
  const weights = new Float32Array(featurePtr[numFeatures]);
  const next = featurePtr.slice(0, numFeatures);
  nodes.forEach((a, i) => {
    const base = childPtr[i];
    for (let f = 0; f < numFeatures; f++) {
      for (let p = a.featurePtr[f], end = a.featurePtr[f + 1]; p < end; p++) {
        const q = next[f]++;
        partitions[q] = base + a.partitions[p];
        weights[q] = a.weights[p];
      }
    }
  });
  const tree: PartitionArrays = {
    k,
    numFeatures,
    featurePtr,
    partitions,
    weights,
    treeChildPtr: childPtr,
    treeChild: Int32Array.from(child),
  };
  if (!nodes.some((a) => a.bias)) return tree;
  const bias = new Float32Array(child.length);
  nodes.forEach((a, i) => {
    if (a.bias) bias.set(a.bias, childPtr[i]);
  });
  return { ...tree, bias };
}

/** The hierarchical {@link Partitioner} ("tree"); see {@link fitTree}. */
export const treePartitioner: Partitioner = Object.freeze({ name: "tree", fit: fitTree });
