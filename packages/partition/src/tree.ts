import { type CsrMatrix, deriveSeed, type LabelMatrix, selectRows } from "@annexml/sparse-io";
import { fitKmeans } from "./kmeans.js";
import { fitMincut } from "./mincut.js";
import { singlePartitionModel, trustedModel } from "./model.js";
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
 * `treeUpperSplitter` (default k-means) above them;
 * the node's K leaves are shared among its children (one each, the rest in
 * proportion to their rows: {@link allocateLeaves}), and a child with one
 * leaf is a final partition. So leaves hold about `N / K` rows, and a row is
 * scored against `b` centres per level, `O(N log K)` per fit instead of
 * `O(N K)`.
 *
 * Nodes are trained breadth first; the root uses `seed` itself (so when
 * `treeBranching >= K` the tree is exactly the flat splitter's model), node
 * `i > 0` uses `deriveSeed(seed, i)`. A node whose rows have no feature (or,
 * for min-cut, no label) is split by k-means (resp. into empty centres, rows
 * going to its first child). Deterministic: same inputs and options, same
 * model.
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
    const { arrays, assignment, parts } = splitNode(features, labels, rows, leaves, i, o, {
      onEpoch: (info) => o.onEpoch?.({ ...info, epoch: ++epochs }),
      onProgress: (d) => {
        if (onProgress) onProgress(Math.min(done + d, total - 1), total);
      },
    });
    done = Math.min(done + o.iters * rows.length, total - 1);
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

/** Levels of a tree of `k` leaves built with {@link childCount} (>= 1). */
function estimatedDepth(k: number, b: number): number {
  let depth = 0;
  for (let m = k; m > 1; m = Math.ceil(m / childCount(m, b))) depth++;
  return Math.max(depth, 1);
}

/**
 * Trains internal node `id` on `rows`: the flat model of its children
 * (partitions `0 .. parts - 1`), and each row's child.
 */
function splitNode(
  features: CsrMatrix,
  labels: LabelMatrix,
  rows: Int32Array,
  leaves: number,
  id: number,
  o: ResolvedPartitionOptions,
  hooks: Pick<PartitionOptions, "onEpoch" | "onProgress">,
): { arrays: PartitionArrays; assignment: Int32Array; parts: number } {
  const n = rows.length;
  const branches = childCount(leaves, o.treeBranching);
  const parts = Math.max(1, Math.min(branches, n));
  const x = id === 0 ? features : selectRows(features, rows);
  const y = id === 0 ? labels : selectRows(labels, rows);
  let fit = SPLITTERS[branches === leaves ? o.treeSplitter : o.treeUpperSplitter];
  if (n > 0 && fit === fitMincut && y.indptr[n] === 0) fit = fitKmeans;
  if (parts < 2 || x.indptr[n] === 0) {
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
    ...hooks,
  });
  return { arrays: model.toArrays(), assignment: model.assignAll(x), parts };
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
  return {
    k,
    numFeatures,
    featurePtr,
    partitions,
    weights,
    treeChildPtr: childPtr,
    treeChild: Int32Array.from(child),
  };
}

/** The hierarchical {@link Partitioner} ("tree"); see {@link fitTree}. */
export const treePartitioner: Partitioner = Object.freeze({ name: "tree", fit: fitTree });
