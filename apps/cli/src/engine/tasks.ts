import { buildIndex, type IndexArrays } from "@annexml/ann-search";
import { type EmbeddingArrays, paddedStride, trainEmbedding } from "@annexml/embed";
import type { PartArrays, TrainingOptions } from "@annexml/model";
import { createPartitioner, type PartitionArrays } from "@annexml/partition";
import {
  type CsrMatrix,
  type Dataset,
  type DenseMatrix,
  deriveSeed,
  type KnnResult,
  type LabelMatrix,
} from "@annexml/sparse-io";
import { embedWork, noReport, partitionWork, stagedReport, type TaskReport } from "./work.js";

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

/**
 * What a training task needs: the training parameters in the API's names
 * and types (one definition: `TRAINING_OPTIONS` in `../options.ts`), plus
 * the partitions per learner and whether to measure training P@1..5.
 */
export type TrainSettings = TrainingOptions & {
  numPartitions: number;
  /** Compute each partition's training P@1..5 (the original's diagnostic). */
  diagnostic: boolean;
};

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

/**
 * Trains learner `learner`'s partitioner and assigns every training row;
 * `report` hears the fraction done ({@link partitionWork}).
 */
export function partitionTask(
  data: TrainingData,
  s: TrainSettings,
  learner: number,
  report: TaskReport = noReport,
): PartitionResult {
  const partitioner = createPartitioner(s.partitioner);
  const objectives: number[] = [];
  const model = partitioner.fit(data.features, data.labels, {
    k: s.numPartitions,
    iters: s.partitionerIters,
    balance: s.partitionBalance,
    seed: taskSeeds.partitioner(s, learner),
    eta0: s.eta0,
    lambda: s.lambda,
    numNeighbours: s.numNeighbours,
    labelNormalize: s.labelNormalize,
    onEpoch: (info) => objectives.push(info.objective),
    ...(report === noReport ? {} : { onProgress: stagedReport(report, partitionWork(data, s)) }),
  });
  return {
    arrays: copyArrays(model.toArrays()),
    assignment: model.assignAll(data.features),
    objectives,
  };
}

/**
 * Learns the embedding of one partition's rows (its search graph is a
 * separate {@link indexTask}); `report` hears the fraction done ({@link embedWork}).
 */
export function partTask(
  data: TrainingData,
  s: TrainSettings,
  learner: number,
  part: number,
  rows: Int32Array,
  report: TaskReport = noReport,
): EmbeddingArrays {
  const positives = rows.length === data.features.rows ? data.allRowsPositives : undefined;
  const model = trainEmbedding(
    { features: data.features, labels: data.labels, rows, positives },
    {
      embSize: s.embSize,
      iters: s.embIters,
      eta0: s.eta0,
      gamma: s.gamma,
      seed: taskSeeds.embedding(s, learner, part),
      numNeighbours: s.numNeighbours,
      labelNormalize: s.labelNormalize,
      diagnostic: s.diagnostic,
      anchorStep: s.anchorStep,
      rsqrt: s.rsqrt,
      ...(report === noReport
        ? {}
        : { onProgress: stagedReport(report, embedWork(data, s, rows, positives !== undefined)) }),
    },
  );
  return copyArrays(model.toArrays());
}

/**
 * The search-graph build of partition `part` of learner `learner`: leaf size
 * `numNeighbours`, `numEdges` out-edges, the seed derived from `seed` and the
 * partition's place. The one builder: training, the import of original
 * models and `predict num_edge=...` rebuilds all use it, so they build alike.
 */
export function searchGraphOptions(
  s: Pick<TrainingOptions, "numNeighbours" | "numEdges" | "seed">,
  learner: number,
  part: number,
): IndexTaskOptions {
  return {
    leafSize: s.numNeighbours,
    numEdges: s.numEdges,
    seed: taskSeeds.searchIndex(s, learner, part),
  };
}

/**
 * An empty partition (possible when the partitioner leaves one without
 * rows): no projection rows, no embeddings, and a search index over no
 * vectors, so it stores and loads like any other. The stride is embed's
 * (`paddedStride(embSize)`, `embSize` rounded up to a multiple of 4), as in
 * every non-empty partition of the same model.
 */
export function emptyPart(
  embSize: number,
  leafSize: number,
): Pick<PartArrays, "embedding" | "index"> {
  const stride = paddedStride(embSize);
  return {
    embedding: {
      embSize,
      stride,
      rows: 0,
      featureIds: new Int32Array(0),
      weights: new Float32Array(0),
      embeddings: new Float32Array(0),
    },
    index: buildIndex(
      "graph",
      { rows: 0, cols: embSize, stride, data: new Float32Array(0) },
      { leafSize },
    ).toArrays(),
  };
}

/**
 * A copy of the caller's training data that training may change (rows
 * normalised, ids renumbered in place) while the caller's arrays stay as
 * they were: every array copied once, onto `SharedArrayBuffer`s when
 * `shared`, so worker threads read the one copy instead of each getting its
 * own.
 */
export function ownTrainingData(
  data: Pick<Dataset, "features" | "labels">,
  shared: boolean,
): Pick<Dataset, "features" | "labels"> {
  const copy = <T extends Int32Array | Float32Array | Float64Array>(array: T): T => {
    const ctor = array.constructor as new (buffer: ArrayBufferLike) => T;
    const out = new ctor(
      shared ? new SharedArrayBuffer(array.byteLength) : new ArrayBuffer(array.byteLength),
    );
    out.set(array as never);
    return out;
  };
  const { features, labels } = data;
  return {
    features: {
      ...features,
      indptr: copy(features.indptr),
      indices: copy(features.indices),
      values: copy(features.values),
    },
    labels: { ...labels, indptr: copy(labels.indptr), indices: copy(labels.indices) },
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
