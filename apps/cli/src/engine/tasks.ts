import { buildIndex, type IndexArrays } from "@annexml/ann-search";
import { type EmbeddingArrays, trainEmbedding } from "@annexml/embed";
import { CLS_TYPE_NAMES, createPartitioner, type PartitionArrays } from "@annexml/partition";
import {
  type CsrMatrix,
  type DenseMatrix,
  deriveSeed,
  type KnnResult,
  type LabelMatrix,
} from "@annexml/sparse-io";

/** The training data every task reads: rows already L2-normalised, on shared memory when threaded. */
export interface TrainingData {
  features: CsrMatrix;
  labels: LabelMatrix;
  /**
   * The label kNN graph over all rows, when every learner has one partition:
   * then every embedding task needs exactly this graph, so it is computed once.
   */
  allRowsPositives?: KnnResult;
}

/** The training parameters a task needs (a subset of the config, plain numbers). */
export interface TrainSettings {
  numPartitions: number;
  cls_type: number;
  cls_iter: number;
  emb_size: number;
  emb_iter: number;
  num_nn: number;
  num_edge: number;
  label_normalize: number;
  eta0: number;
  lambda: number;
  gamma: number;
  seed: number;
  /** 0 = per-sample AdaGrad steps on the row's own side (the original), 1 = one merged step. */
  anchor_step: number;
  /** Compute each partition's training P@1..5 (the original's diagnostic). */
  diagnostic: boolean;
}

/**
 * Seeds of every task, derived from the master seed and the task's place,
 * never from the order tasks run in: that is what makes a model the same for
 * any number of threads.
 */
export const taskSeeds = {
  partitioner: (s: { seed: number }, learner: number) => deriveSeed(s.seed, learner, 0),
  embedding: (s: { seed: number }, learner: number, part: number) =>
    deriveSeed(s.seed, learner, 1, part),
  searchIndex: (s: { seed: number }, learner: number, part: number) =>
    deriveSeed(s.seed, learner, 2, part),
};

/** What a learner's partitioner task returns. */
export interface PartitionResult {
  arrays: PartitionArrays;
  /** Partition of every training row (lowest-k ties). */
  assignment: Int32Array;
  /** Objective after each epoch. */
  objectives: number[];
}

/** Trains learner `learner`'s partitioner and assigns every training row. */
export function partitionTask(
  data: TrainingData,
  s: TrainSettings,
  learner: number,
): PartitionResult {
  const partitioner = createPartitioner(CLS_TYPE_NAMES[s.cls_type]);
  const objectives: number[] = [];
  const model = partitioner.fit(data.features, data.labels, {
    k: s.numPartitions,
    iters: s.cls_iter,
    seed: taskSeeds.partitioner(s, learner),
    eta0: s.eta0,
    lambda: s.lambda,
    numNeighbours: s.num_nn,
    labelNormalize: s.label_normalize === 1,
    onEpoch: (info) => objectives.push(info.objective),
  });
  return {
    arrays: copyArrays(model.toArrays()),
    assignment: model.assignAll(data.features),
    objectives,
  };
}

/** Learns the embedding of one partition's rows (its search graph is a separate {@link indexTask}). */
export function partTask(
  data: TrainingData,
  s: TrainSettings,
  learner: number,
  part: number,
  rows: Int32Array,
): EmbeddingArrays {
  const positives = rows.length === data.features.rows ? data.allRowsPositives : undefined;
  const model = trainEmbedding(
    { features: data.features, labels: data.labels, rows, positives },
    {
      embSize: s.emb_size,
      iters: s.emb_iter,
      eta0: s.eta0,
      gamma: s.gamma,
      seed: taskSeeds.embedding(s, learner, part),
      numNeighbours: s.num_nn,
      labelNormalize: s.label_normalize === 1,
      diagnostic: s.diagnostic,
      anchorStep: s.anchor_step === 1 ? "merged" : "per-sample",
    },
  );
  return copyArrays(model.toArrays());
}

/** The search-graph build of a partition's embedding, as {@link indexTask} takes it. */
export function partIndexOptions(
  s: TrainSettings,
  learner: number,
  part: number,
): IndexTaskOptions {
  return {
    leafSize: s.num_nn,
    numEdges: s.num_edge,
    seed: taskSeeds.searchIndex(s, learner, part),
  };
}

/**
 * Gives every typed array of `arrays` its own exact buffer, so results can
 * be moved between threads and stored without dragging larger buffers along.
 */
export function copyArrays<T extends object>(arrays: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(arrays)) {
    out[key] = ArrayBuffer.isView(value) ? (value as unknown as Int32Array).slice() : value;
  }
  return out as T;
}

/** The transferable buffers inside a task result (for zero-copy return from a worker). */
export function buffersOf(value: unknown, out: ArrayBuffer[] = []): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && !out.includes(value.buffer)) out.push(value.buffer);
  } else if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) buffersOf(v, out);
  }
  return out;
}

/** Options of a standalone search-index build (the CLI's import and num_edge rebuilds). */
export interface IndexTaskOptions {
  leafSize: number;
  numEdges: number;
  seed: number;
}

/** Builds the search graph of one partition's unit embeddings (cosine). */
export function indexTask(vectors: DenseMatrix, o: IndexTaskOptions): IndexArrays {
  const index = buildIndex("graph", vectors, {
    metric: "cosine",
    leafSize: o.leafSize,
    numEdges: Math.min(o.numEdges, Math.max(vectors.rows - 1, 1)),
    seed: o.seed,
    reorder: false,
  });
  return copyArrays(index.toArrays());
}
