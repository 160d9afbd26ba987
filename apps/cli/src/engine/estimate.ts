import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import {
  AnnexmlError,
  type CsrMatrix,
  columnCounts,
  compactColumns,
  type LabelMatrix,
} from "@annexml/sparse-io";
import type { AnnexmlParams } from "../config.js";

/**
 * What the estimate needs of the training data: counts only, cheap to take
 * once the data is read (see {@link dataSizes}). Feature and label counts
 * are the DISTINCT ids used, not the largest id.
 */
export interface DataSizes {
  rows: number;
  /** Distinct feature ids used. */
  features: number;
  /** Distinct label ids used. */
  labels: number;
  /** Feature non-zeros. */
  nnz: number;
  /** Label non-zeros (sum of the label-set sizes). */
  labelNnz: number;
  /**
   * Rows each used feature occurs in (any order), for the expected number
   * of distinct features of a partition; when omitted every feature is
   * taken to occur in `nnz / features` rows.
   */
  featureRows?: ArrayLike<number>;
}

/** The parameters the estimate reads. */
export type EstimateParams = Pick<
  AnnexmlParams,
  | "num_learner"
  | "emb_size"
  | "num_nn"
  | "num_edge"
  | "cluster_size"
  | "cls_type"
  | "num_thread"
  | "verbose"
> & {
  /** Model storage (0 = float32, 1 = f16, 2 = int8; default 0). */
  compact?: number;
};

/** Bytes of each term, by name (what `dry_run=1` prints). */
export type EstimateTerms = Record<string, number>;

/** Estimated peak memory and model size of a training run. */
export interface TrainingEstimate {
  /** Peak resident set size of the process, worker threads included. */
  peakBytes: number;
  /** Size of the model file. */
  modelBytes: number;
  /** Partitions per learner. */
  partitions: number;
  /** The peak's terms (they sum to `peakBytes`). */
  peakTerms: EstimateTerms;
  /** The model's terms (they sum to `modelBytes`). */
  modelTerms: EstimateTerms;
}

const MB = 1024 * 1024;

// Calibrated constants: peak RSS measured with /usr/bin/time -v (Node 20,
// 2 cores) on a 4-row file and on bibtex, delicious and phyletic_profiles.
/** RSS of the CLI training a 4-row file in process: Node, V8, our modules and compiled WebAssembly. */
const NODE_BASELINE = 61 * MB;
/** RSS each piscina worker adds (its isolate, modules and WebAssembly; 4-row file, 2 threads: +31 MB). */
const WORKER_BASELINE = 16 * MB;
/**
 * Freed-but-not-yet-collected memory of a thread that runs tasks: every
 * task's buffers (WebAssembly memories, results before their copies) are
 * released only when the garbage collector runs. Modelled as
 * GARBAGE_PER_TASK of the working set of every task the thread ran, up to a
 * cap. Measured in process: 7 MB after 1 bibtex task, 25 MB after 4, then
 * 41-57 MB on all five runs; per worker 10-38 MB. With workers the main
 * thread has garbage of its own (the results it receives, the vectors it
 * sends to the search-graph tasks): MAIN_GARBAGE_FACTOR of the model.
 */
const GARBAGE_PER_TASK = 0.8;
const GARBAGE_CAP_IN_PROCESS = 46 * MB;
const GARBAGE_CAP_WORKER = 24 * MB;
const MAIN_GARBAGE_FACTOR = 0.3;
/** Search-tree leaves per row: leaves hold between leafSize / 2 and leafSize rows (measured 1.63 / leafSize). */
const LEAVES_PER_ROW_TIMES_LEAF_SIZE = 1.65;
/** JSON index bytes per section (its table entry and its place in the skeleton) and per partition. */
const HEADER_BYTES_PER_SECTION = 190;
const HEADER_BYTES_PER_PART = 100;
/**
 * Min-cut partitioner: non-zero weights kept per (partition, feature) pair
 * (1 = all, the upper bound; bibtex, K = 3: 0.90).
 */
const PARTITION_WEIGHT_DENSITY = 0.9;
/** Tree partitioner (cls_type 2): children per node (the partition package's default treeBranching). */
const TREE_BRANCHING = 16;
/** Min-cut: the dense FTRL state is used up to this size (the partition package's default). */
const DENSE_FTRL_BUDGET = 2 ** 31;
/** Min-cut sparse FTRL state: bytes per touched (partition, feature) pair, hash slack included. */
const SPARSE_FTRL_BYTES_PER_PAIR = 32;

const ceil4 = (n: number) => Math.ceil(n / 4) * 4;
const align64 = (n: number) => Math.ceil(n / 64) * 64;

/** Distinct features expected in a partition of `rows / k` rows (rows assigned at random). */
function featuresPerPart(data: DataSizes, k: number): number {
  if (k <= 1) return data.features;
  const keep = 1 - 1 / k;
  if (data.featureRows) {
    let sum = 0;
    for (let f = 0; f < data.featureRows.length; f++) sum += 1 - keep ** data.featureRows[f];
    return sum;
  }
  const rowsPerFeature = data.features > 0 ? data.nnz / data.features : 0;
  return data.features * (1 - keep ** rowsPerFeature);
}

const sum = (terms: EstimateTerms) => Object.values(terms).reduce((a, b) => a + b, 0);

/**
 * Estimates the peak RSS and the model file size of `annexml train` from
 * the data's sizes and the parameters (a pure function). The terms follow
 * the code (see the comment on each):
 *
 * ```
 * model = labels CSR + L x partitioner + L x K x (embedding weights + unit embeddings + search graph) + index
 * peak  = Node baseline + workers x worker baseline + training data (+ the shared positives graph when K = 1)
 *       + max(partitioner tasks, running tasks x task working set + the whole model)
 *       + garbage (per running thread, calibrated)
 * ```
 *
 * Measured (annexml-example.json, 1 and 2 threads, bibtex / delicious /
 * phyletic_profiles, cluster_size 6000 and 1500): peak within 11%, model
 * size within 2%.
 */
export function estimateTraining(data: DataSizes, params: EstimateParams): TrainingEstimate {
  const N = data.rows;
  const F = data.features;
  const L = params.num_learner;
  const K = Math.max(Math.floor(N / params.cluster_size), 1);
  const threads = params.num_thread;
  const stride = ceil4(params.emb_size);
  const dim = params.emb_size;
  const nn = params.num_nn;

  // --- The model file (model/format.ts, model/model.ts save) ---
  // Per partition (rows n = N / K, distinct features Fk):
  const n = N / K;
  const Fk = featuresPerPart(data, K);
  const E = Math.max(Math.min(params.num_edge, n - 1), 1);
  const leaves = n > nn ? Math.ceil((LEAVES_PER_ROW_TIMES_LEAF_SIZE * n) / nn) : 1;
  const splits = leaves - 1;
  const parts = L * K;
  // Min-cut weights: an inverted index of the non-zero (partition, feature) weights (none when K = 1).
  // A tree (cls_type 2) also stores the centres of its inner nodes: at most
  // K - 1 more, about K / 15 with 16-way nodes.
  const centres =
    params.cls_type === 2 && K > TREE_BRANCHING ? K + Math.ceil((K - 1) / (TREE_BRANCHING - 1)) : K;
  const partitionEntries = K > 1 ? PARTITION_WEIGHT_DENSITY * centres * F : 0;
  // Compact storage (model/model.ts compactSections): bytes per weight /
  // embedding / normal value (int8: plus a float32 scale per row), rows of
  // embSize instead of stride; ids as u16 below 65535 rows.
  const compact = params.compact ?? 0;
  const floatBytes = compact === 1 ? 2 : compact === 2 ? 1 : 4;
  const rowScale = compact === 2 ? 4 : 0;
  const width = compact > 0 ? dim : stride;
  const idBytes = compact > 0 && n < 65535 ? 2 : 4;
  const sections =
    4 + L * 3 + parts * (10 + (params.verbose >= 2 ? 1 : 0) + (compact === 2 ? 2 : 0));
  const modelTerms: EstimateTerms = {
    // Training labels CSR: indptr (N + 1) and indices.
    trainLabels: 4 * (N + 1) + 4 * data.labelNnz,
    // Partitioner per learner: featurePtr (F + 1), and (partition, weight) per entry.
    partitioners: L * (4 * (F + 1) + 8 * partitionEntries),
    // Embedding per partition: featureIds Fk, weights Fk x stride, and the rows' ids.
    embeddingWeights: parts * (idBytes * (Fk + n) + (floatBytes * width + rowScale) * Fk),
    // Unit embeddings of the partition's rows: n x stride floats.
    unitEmbeddings: parts * (floatBytes * width + rowScale) * n,
    // Search index (ann-search IndexArrays): edges n x E, leafRows n, the tree's
    // split normals (dim floats), offsets and children per split node, leafPtr.
    searchGraphs:
      parts * (idBytes * (n * E + n + leaves + 1) + (floatBytes * dim + rowScale + 12) * splits),
    // The original ids of sparse feature / label ids (stored only when the
    // ids were not already 0 .. n - 1; counted always: at most 4 (F + L) bytes).
    idMaps: 4 * (F + data.labels),
    // Format 2 (docs/MODEL_FORMAT.md): the 64-byte preamble, each section
    // 64-byte aligned (32 bytes of padding on average), the JSON index, the
    // 32-byte trailer.
    indexAndPadding:
      64 +
      32 * sections +
      align64(HEADER_BYTES_PER_SECTION * sections + HEADER_BYTES_PER_PART * parts) +
      32,
  };
  const modelBytes = sum(modelTerms);

  // --- Memory: what is resident at the peak ---
  // The training data (sparse-io CSR): features indptr + (index, value) per
  // non-zero, labels indptr + index; one copy, on shared memory when threaded.
  const dataBytes = 4 * (N + 1) + 8 * data.nnz + 4 * (N + 1) + 4 * data.labelNnz;
  // One label kNN graph of all rows (ids + scores, num_nn each) when K = 1:
  // built once by the trainer and read by every embedding task.
  const sharedPositives = K === 1 ? 8 * N * nn : 0;
  // An embedding task (embed train.ts):
  const nnzPart = data.nnz / K;
  const embedTask =
    // the kernel's memory: W and AdaGrad G records (2 x Fk x stride floats),
    // the rows as (address, value) entries and their pointers;
    8 * Fk * stride +
    8 * nnzPart +
    4 * n +
    // the partition's positives graph (ids + scores; shared when K = 1);
    (K > 1 ? 8 * n * nn : 0) +
    // the results (weights, embeddings) and their exact copies (tasks.ts copyArrays).
    2 * 4 * (Fk * stride + n * stride);
  // A search-graph task (tasks.ts indexTask, a separate task): the vectors it
  // receives and their WebAssembly copy, the kNN graph (ids + scores), the edges.
  const indexTask = 2 * 4 * n * stride + 12 * n * E;
  const graphTask = Math.max(embedTask, indexTask);
  // A partitioner task (min-cut; k-means keeps K x F dense centres): the
  // FTRL state (W, G, z per pair, dense when it fits), the label kNN graph,
  // the assignment.
  // A tree trains one node at a time, with at most TREE_BRANCHING partitions.
  const trained = params.cls_type === 2 ? Math.min(K, TREE_BRANCHING) : K;
  const denseFtrl = 12 * ceil4(trained) * F;
  const ftrl =
    K === 1
      ? 0
      : params.cls_type === 0
        ? 8 * K * F
        : denseFtrl <= DENSE_FTRL_BUDGET
          ? denseFtrl
          : // the pairs touched: at most every row's features for each of its 2 num_nn updates
            SPARSE_FTRL_BYTES_PER_PAIR * Math.min(trained * F, 2 * nn * data.nnz);
  // A tree node below the root trains on a copy of its rows (at most all of them).
  const nodeRows =
    params.cls_type === 2 && K > TREE_BRANCHING ? 8 * data.nnz + 4 * (N + data.labelNnz) : 0;
  const partitionTask = K === 1 ? 0 : ftrl + 8 * N * nn + 4 * N + 12 * data.labelNnz + nodeRows;
  // Threads that run tasks: the process itself (num_thread 1) or each worker.
  const running = Math.min(threads, parts);
  const workers = threads > 1 ? threads * WORKER_BASELINE : 0;
  // The partitioning phase: min(threads, L) partitioner tasks at once.
  const partitionPhase = Math.min(threads, L) * partitionTask;
  // The embedding phase ends with the whole model held (all parts) while the
  // last tasks run; the model is then written section by section (no copy).
  // In memory the model is float32 whatever its storage (compact sections
  // are encoded one at a time while written).
  const heldBytes =
    (params.compact ?? 0) > 0
      ? estimateTraining(data, { ...params, compact: 0 }).modelBytes
      : modelBytes;
  const embedPhase = running * graphTask + heldBytes;
  // Garbage of each running thread, and of the main thread with workers
  // (see GARBAGE_PER_TASK). Tasks: one embedding and one search graph per
  // partition, one partitioner per learner when K > 1.
  const tasksPerThread = (2 * parts + (K > 1 ? L : 0)) / running;
  const garbageCap = threads > 1 ? GARBAGE_CAP_WORKER : GARBAGE_CAP_IN_PROCESS;
  const garbage =
    running *
      Math.min(garbageCap, GARBAGE_PER_TASK * tasksPerThread * Math.max(graphTask, partitionTask)) +
    (threads > 1 ? MAIN_GARBAGE_FACTOR * heldBytes : 0);
  const peakTerms: EstimateTerms = {
    nodeBaseline: NODE_BASELINE,
    workerThreads: workers,
    trainingData: dataBytes + sharedPositives,
    ...(partitionPhase > embedPhase
      ? { partitionerTasks: partitionPhase, model: 0 }
      : { embeddingTasks: running * graphTask, model: heldBytes }),
    garbage,
  };
  return {
    peakBytes: sum(peakTerms),
    modelBytes,
    partitions: K,
    peakTerms,
    modelTerms,
  };
}

/**
 * The sizes {@link estimateTraining} needs, in O(nnz): distinct features
 * (with the rows each occurs in) and labels, non-zeros. Counts ids in a
 * dense table when the id range is small against the non-zeros, else sorts
 * a copy, so a huge id range never allocates in proportion to it.
 */
export function dataSizes(features: CsrMatrix, labels: LabelMatrix): DataSizes {
  // Counted over the ids in use (renumbered densely when sparse): a huge id costs nothing.
  const featureRows = columnCounts(compactColumns(features).matrix);
  return {
    rows: features.rows,
    features: featureRows.length,
    labels: compactColumns(labels).matrix.cols,
    nnz: features.indices.length,
    labelNnz: labels.indices.length,
    featureRows,
  };
}

/** Bytes of memory available: `MemAvailable` of /proc/meminfo (Linux), else `os.freemem()`. */
export function availableMemory(): number {
  try {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux: fall back
  }
  return freemem();
}

/** Megabytes (2^20 bytes, as the CLI reports peak RSS): one decimal below 10. */
const mb = (bytes: number) => `${(bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0)} MB`;

/** The estimate as the lines `dry_run=1` prints: peak, model size and their terms. */
export function formatEstimate(e: TrainingEstimate): string[] {
  const terms = (t: EstimateTerms) =>
    Object.entries(t)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${mb(v)}`)
      .join(", ");
  return [
    `Estimated peak memory: ${mb(e.peakBytes)} (${terms(e.peakTerms)})`,
    `Estimated model size: ${(e.modelBytes / 1e6).toFixed(2)} MB (${terms(e.modelTerms)})`,
  ];
}

/**
 * Throws a one-line `AnnexmlError` (`TOO_LARGE`) when the estimated peak
 * exceeds `max_memory` MB (when set, > 0) or else the memory available,
 * naming the estimate, the limit and the parameters that lower it.
 */
export function checkMemory(
  e: TrainingEstimate,
  params: EstimateParams & { max_memory: number },
  available: number = availableMemory(),
): void {
  const limit = params.max_memory > 0 ? params.max_memory * MB : available;
  if (e.peakBytes <= limit) return;
  const what = params.max_memory > 0 ? `max_memory=${params.max_memory}` : "available memory";
  throw new AnnexmlError(
    "TOO_LARGE",
    `training needs an estimated ${mb(e.peakBytes)} of memory (model ${mb(e.modelBytes)}), more than the ${mb(limit)} of ${what}: ` +
      `lower num_learner (${params.num_learner}), emb_size (${params.emb_size}) or num_thread (${params.num_thread}), ` +
      `or change cluster_size (${params.cluster_size}: K = ${e.partitions} partitions per learner), or raise max_memory`,
  );
}

/** The estimate of a training run on loaded data, checked against the memory limit. */
export function estimateAndCheck(
  features: CsrMatrix,
  labels: LabelMatrix,
  params: EstimateParams & { max_memory: number },
): TrainingEstimate {
  const estimate = estimateTraining(dataSizes(features, labels), params);
  checkMemory(estimate, params);
  return estimate;
}
