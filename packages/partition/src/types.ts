import type { CsrMatrix, LabelMatrix } from "@annexml/sparse-io";

/** The flat partitioners a tree node can train. */
export type TreeSplitter = "mincut" | "kmeans";

/** What {@link PartitionOptions.onEpoch} receives after every training epoch. */
export interface EpochInfo {
  /** 1-based epoch number. */
  readonly epoch: number;
  /**
   * The partitioner's objective for this epoch: k-means, the mean inner
   * product of every row with its best centre (before the centres move);
   * min-cut, the fraction of positive pairs whose positive was last seen in
   * the same partition as the row.
   */
  readonly objective: number;
  /** Wall-clock seconds the epoch took. */
  readonly seconds: number;
}

/**
 * Options of {@link Partitioner.fit}. Every field is optional; the defaults
 * are {@link DEFAULT_PARTITION_OPTIONS} (the original AnnexML's values).
 */
export interface PartitionOptions {
  /** Number of partitions K. When omitted, `K = max(floor(N / clusterSize), 1)`. Must satisfy `1 <= K <= N`. */
  k?: number;
  /** Target rows per partition, used only when `k` is omitted (default 6000). */
  clusterSize?: number;
  /** Training epochs, the original's `cls_iter` (default 10; 0 keeps the initial centres). */
  iters?: number;
  /** Seed of every random choice (row shuffles, tie-breaks, negatives); default `0x5EED`. */
  seed?: number;
  /** Min-cut: FTRL-proximal learning rate (default 0.1). */
  eta0?: number;
  /** Min-cut: L1 strength (default 4.0). */
  lambda?: number;
  /** Min-cut: positives and negatives per row, the original's `num_nn` (default 10). */
  numNeighbours?: number;
  /** Min-cut: weight a neighbour's shared labels by `1/|Y_j|` (default true). */
  labelNormalize?: boolean;
  /** Min-cut: head-label pruning budget per row of the positives graph (default 5000; 0 = no pruning). */
  pruneBudget?: number;
  /**
   * Min-cut: the dense `K x F` FTRL state (12 bytes per weight) is used when
   * it fits in this many bytes, otherwise an exact sparse state that only
   * holds the (partition, feature) pairs ever touched. Default 2 GiB.
   */
  memoryBudgetBytes?: number;
  /**
   * Tree: children per internal node, at most (default 16, in [2, 256]).
   * Every level scores a row against this many centres instead of all K.
   */
  treeBranching?: number;
  /** Tree: the flat partitioner of the nodes just above the leaves (default "mincut"). */
  treeSplitter?: TreeSplitter;
  /** Tree: the flat partitioner of the nodes above those (default "mincut"). */
  treeUpperSplitter?: TreeSplitter;
  /**
   * Tree: the nodes above those just over the leaves train on a random
   * sample of at most this many of their rows (then route all of them);
   * 0 = all rows. Default 50000: the coarse splits cost O(1) per node, only
   * the fine splits see every row.
   */
  treeSampleRows?: number;
  /**
   * Balance: no part may hold more than `balance x N / K` of the N rows it
   * is trained on (a value >= 1.1; 0 = no bound, the original's behaviour).
   * Min-cut closes a full part for the rest of an epoch while it trains;
   * both then learn one bias per part ({@link PartitionArrays.bias}) so that
   * the prediction-time argmax respects the bound too. The tree applies it at
   * every node, which keeps it shallow (min-cut alone puts 50-70% of the rows
   * into one part).
   */
  balance?: number;
  /** Called after every epoch (the CLI prints it). */
  onEpoch?: (info: EpochInfo) => void;
  /**
   * Progress in row visits: `done` of `total = iters * N` (every row once
   * per epoch). Called with `(0, total)` once the set-up (min-cut: the
   * positives graph) is done, every 1024 rows, after every epoch, and last
   * with `(total, total)` (k-means stopping early jumps there). `done` never
   * decreases. Only reports: it never changes the result. Not called when
   * there is nothing to train (K = 1).
   */
  onProgress?: (done: number, total: number) => void;
}

/**
 * A trained partitioning: K weight vectors `c_k` over the features, stored
 * as an inverted index feature -> (partition, weight) of the non-zero weights.
 */
export interface PartitionModel {
  /** Number of partitions K (>= 1). */
  readonly k: number;
  /** Number of feature ids the weights cover; larger ids are ignored by `assign`. */
  readonly numFeatures: number;
  /**
   * The partition of one sparse row (indices sorted, `values.length >=
   * indices.length`): `argmax_k <x, c_k>`, the lowest k winning ties, so a
   * row with no overlap goes to 0. Features `>= numFeatures` are ignored.
   * Allocates nothing.
   */
  assign(indices: Int32Array, values: Float32Array): number;
  /** `assign` of every row of `m`, as an `Int32Array(m.rows)`. */
  assignAll(m: CsrMatrix): Int32Array;
  /** The model's own state as plain typed arrays (views of the model's arrays: do not mutate). */
  toArrays(): PartitionArrays;
}

/**
 * A {@link PartitionModel} as plain typed arrays: for feature `f`, entries
 * `p = featurePtr[f] .. featurePtr[f + 1] - 1` give `c_{partitions[p]}[f] =
 * weights[p]`, partitions strictly ascending within a feature, weights
 * finite and non-zero.
 *
 * Flat model (no tree fields): centre ids are the partitions `0 .. k - 1`,
 * a row goes to the best one. Tree model (`treeChildPtr` and `treeChild`
 * both present): centre ids are `0 .. treeChild.length - 1`; internal node
 * i (node 0 is the root) has the children `e = treeChildPtr[i] ..
 * treeChildPtr[i + 1] - 1`, each with its centre `c_e`, and `treeChild[e]`
 * is the internal node it leads to (`> i`) or, when negative, the leaf
 * (partition) `-1 - treeChild[e]`. Every non-root node and every partition
 * `0 .. k - 1` is the child of exactly one node. A row descends from the
 * root to its best child (lowest e on ties) until it reaches a leaf.
 */
export interface PartitionArrays {
  readonly k: number;
  readonly numFeatures: number;
  /** `Int32Array(numFeatures + 1)`, non-decreasing, from 0 to the entry count. */
  readonly featurePtr: Int32Array;
  readonly partitions: Int32Array;
  readonly weights: Float32Array;
  /** Tree only: `Int32Array(internal nodes + 1)`, strictly increasing from 0 to `treeChild.length`. */
  readonly treeChildPtr?: Int32Array;
  /** Tree only: per centre, the internal node (>= 0) or the leaf `-1 - partition` (< 0) it leads to. */
  readonly treeChild?: Int32Array;
  /**
   * Balanced models only (`balance > 0`): one float32 per centre, added to
   * its score before the argmax (`argmax_c <x, c_c> + bias_c`, the sum in
   * double precision), learned so that no part holds more than its capacity
   * of the training rows. Absent: every bias is 0.
   */
  readonly bias?: Float32Array;
}

/**
 * A partitioning algorithm, chosen by name through {@link createPartitioner}.
 *
 * `fit` expects L2-normalised feature rows (the caller normalises) and label
 * sets with the same number of rows; it never mutates its inputs, and the
 * same inputs, options and seed always give the same model.
 */
export interface Partitioner {
  readonly name: string;
  fit(features: CsrMatrix, labels: LabelMatrix, options?: PartitionOptions): PartitionModel;
}
