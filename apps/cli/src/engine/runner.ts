import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { IndexArrays } from "@annexml/ann-search";
import type { EmbeddingArrays } from "@annexml/embed";
import type { LearnerArrays, PartArrays, PredictSettings } from "@annexml/model";
import { type AnnexmlModel, type ModelPredictOptions, Predictor } from "@annexml/model";
import {
  type RerankExamples,
  type RerankerArrays,
  type RerankTrainOptions,
  trainRerankerRange,
} from "@annexml/rerank";
import type { CsrMatrix, DenseMatrix, KnnResult, LabelMatrix } from "@annexml/sparse-io";
import { Piscina } from "piscina";
import {
  buffersOf,
  type IndexTaskOptions,
  indexTask,
  type PartitionResult,
  partitionTask,
  partTask,
  type TrainingData,
  type TrainSettings,
} from "./tasks.js";
import { ProgressBoard } from "./work.js";

/** Runs training tasks, in process or on worker threads; results do not depend on which. */
export interface TrainRunner extends IndexRunner {
  /** Learner `learner`'s partitioner; it reports its progress into `board` slot `slot`. */
  partition(learner: number, slot?: number): Promise<PartitionResult>;
  /** The embedding of one partition (progress into slot `slot`); its search graph is built by `index`. */
  part(learner: number, part: number, rows: Int32Array, slot?: number): Promise<EmbeddingArrays>;
  /** Where the tasks report their fraction done (see {@link ProgressBoard}). */
  readonly board: ProgressBoard;
  /**
   * Optional: the embedding and the search graph of one partition as one
   * task (the queue runner's: one job per partition); without it the
   * trainer calls `part` then `index`.
   */
  trainPart?(
    learner: number,
    part: number,
    rows: Int32Array,
    slot?: number,
  ): Promise<Pick<PartArrays, "embedding" | "index">>;
  /**
   * Optional: hears every non-empty (learner, partition) task, in the order
   * they will be asked for, before the first is (the queue runner enqueues
   * them all at once).
   */
  plan?(tasks: readonly { learner: number; part: number }[]): Promise<void>;
}

/** Builds search indexes, in process or on worker threads. */
export interface IndexRunner {
  index(vectors: DenseMatrix, options: IndexTaskOptions): Promise<IndexArrays>;
  close(): Promise<void>;
}

/** Runs prediction of row batches, in process or on worker threads. */
export interface PredictRunner {
  /**
   * Predicts rows `from .. to - 1` of `features` (rows normalised; on shared
   * memory when threaded, so no task copies them) into a new result of
   * `topK` labels per row.
   */
  predict(features: CsrMatrix, from: number, to: number): Promise<KnnResult>;
  close(): Promise<void>;
}

/** The worker script: beside this file once built, or in dist/ when running from source. */
function workerFile(): string {
  for (const candidate of ["./worker.js", "../worker.js", "../../dist/worker.js"]) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error("the worker script worker.js is missing: build @annexml/cli first (pnpm build)");
}

/**
 * A pool of `threads` workers whose `run` waits for room instead of
 * failing when the queue is full: at most `threads` running plus
 * `threads^2` queued, so every thread stays busy without all inputs being
 * held at once.
 */
function pool(threads: number, workerData: unknown) {
  const maxQueue = threads * threads;
  const piscina = new Piscina({
    filename: workerFile(),
    minThreads: threads,
    maxThreads: threads,
    maxQueue,
    idleTimeout: 1000,
    // Workers run the built worker.js: drop a source-mode condition (tsx runs)
    // that would make it resolve the packages' TypeScript sources.
    // (`--conditions=@annexml/source`, or `--conditions`/`-C` then the name as vitest passes it).
    execArgv: process.execArgv.filter(
      (arg, i, all) =>
        !arg.includes("@annexml/source") &&
        !((arg === "--conditions" || arg === "-C") && all[i + 1]?.includes("@annexml/source")),
    ),
    workerData,
  });
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  return {
    async run<T>(task: unknown, options: { name: string }): Promise<T> {
      while (inFlight >= threads + maxQueue)
        await new Promise<void>((resolve) => waiting.push(resolve));
      inFlight++;
      try {
        return (await piscina.run(task, options)) as T;
      } finally {
        inFlight--;
        waiting.shift()?.();
      }
    },
    destroy: () => piscina.destroy(),
  };
}

/**
 * Training runner: `workers` 0 runs tasks in this thread; 1 or more uses a
 * piscina pool of that many worker threads sharing `data` (on shared
 * memory) and a progress board of `slots` task slots.
 */
export function createTrainRunner(
  data: TrainingData,
  settings: TrainSettings,
  workers: number,
  slots = 0,
): TrainRunner {
  const board = new ProgressBoard(slots, workers > 0);
  if (workers <= 0) {
    return {
      board,
      partition: async (learner, slot) =>
        partitionTask(data, settings, learner, board.reporter(slot)),
      part: async (learner, part, rows, slot) =>
        partTask(data, settings, learner, part, rows, board.reporter(slot)),
      index: async (vectors, options) => indexTask(vectors, options),
      close: async () => {},
    };
  }
  // The data lives on SharedArrayBuffers: each worker sees it without a
  // copy; so does the progress board, written by the tasks, read here.
  const threads = pool(workers, { kind: "train", data, settings, progress: board.slots });
  return {
    board,
    partition: (learner, slot) => threads.run({ learner, slot }, { name: "partition" }),
    part: (learner, part, rows, slot) =>
      threads.run({ learner, part, rows, slot }, { name: "part" }),
    // Graph builds are separate, short tasks: they fill the threads that
    // would otherwise idle while the last embeddings finish.
    index: (vectors, options) => threads.run({ vectors, options }, { name: "index" }),
    close: () => threads.destroy(),
  };
}

/**
 * Index runner: `threads` 1 builds in this thread; more uses a pool (the
 * vectors should then be on shared memory, or they are copied per task).
 */
export function createIndexRunner(threads: number): IndexRunner {
  if (threads <= 1) {
    return {
      index: async (vectors, options) => indexTask(vectors, options),
      close: async () => {},
    };
  }
  const workers = pool(threads, { kind: "index" });
  return {
    index: (vectors, options) => workers.run({ vectors, options }, { name: "index" }),
    close: () => workers.destroy(),
  };
}

/** A pool of worker threads (see {@link pool}). */
export type WorkerPool = ReturnType<typeof pool>;

/**
 * Starts `threads` prediction workers before the model is read: they boot
 * and load their modules while this thread reads the model (about 0.1-0.2 s
 * of a fresh process), and get the model with their tasks (see
 * {@link createPredictRunner}). Hand the pool to `createPredictRunner`,
 * which owns it from then on (or `destroy()` it).
 */
export function startPredictWorkers(threads: number): WorkerPool {
  return pool(threads, { kind: "predictLater" });
}

/**
 * Prediction runner over a loaded model (its arrays on shared memory when
 * threaded; its vectors and graphs read in place by every thread when it
 * was read into a WebAssembly memory: see `readModelFile`'s `memory`).
 * `started`: workers from {@link startPredictWorkers}, used when every
 * array of the model is on shared memory (each task then carries the model
 * as references, a fraction of a millisecond); otherwise they are ended and
 * new ones get the model once, when they start.
 */
export function createPredictRunner(
  model: AnnexmlModel,
  options: ModelPredictOptions,
  threads: number,
  started: WorkerPool | null = null,
): PredictRunner {
  if (threads <= 1) {
    void started?.destroy();
    const predictor: Predictor = model.predictor(options);
    return {
      predict: async (features, from, to) => predictWith(predictor, features, from, to),
      close: async () => {},
    };
  }
  const setup = {
    kind: "predict" as const,
    info: model.info,
    trainLabels: model.trainLabels,
    learners: model.learners,
    ids: model.ids,
    // The shared memory the vectors and graphs are in, if the model was read
    // into one: every worker's indexes read them there (one copy in all).
    memory: model.modelMemory(),
    reranker: model.reranker,
    options,
  };
  if (started && buffersOf(setup).length === 0) {
    return {
      predict: (features, from, to) =>
        started.run({ features, from, to, setup }, { name: "predict" }),
      close: () => started.destroy(),
    };
  }
  void started?.destroy();
  const workers = pool(threads, setup);
  return {
    predict: (features, from, to) => workers.run({ features, from, to }, { name: "predict" }),
    close: () => workers.destroy(),
  };
}

/** Predicts rows `from .. to - 1` with one predictor into fresh output arrays. */
/** The re-ranker stage's tasks (see `trainRerankStage` in trainer.ts). */
export interface RerankRunner {
  /** Rows `from .. to - 1`'s shortlists (the `settings` the runner was made with; leave-one-out). */
  shortlist(features: CsrMatrix, from: number, to: number): Promise<KnnResult>;
  /** The scorers of labels `from .. to - 1`. */
  labels(
    features: CsrMatrix,
    examples: RerankExamples,
    from: number,
    to: number,
    options: Partial<RerankTrainOptions>,
  ): Promise<RerankerArrays>;
  close(): Promise<void>;
}

/**
 * The re-ranker stage in this thread (`threads` 0) or on `threads` workers,
 * each holding a copy of the learners (the training data and the examples
 * are shared).
 */
export function createRerankRunner(
  trainLabels: LabelMatrix,
  learners: LearnerArrays[],
  settings: PredictSettings,
  threads: number,
): RerankRunner {
  if (threads <= 0) {
    const predictor = new Predictor(trainLabels, learners, settings);
    return {
      shortlist: async (features, from, to) => predictWith(predictor, features, from, to),
      labels: async (features, examples, from, to, options) =>
        trainRerankerRange(features, examples, from, to, options),
      close: async () => {},
    };
  }
  const workers = pool(threads, { kind: "rerank", trainLabels, learners, settings });
  return {
    shortlist: (features, from, to) => workers.run({ features, from, to }, { name: "shortlist" }),
    labels: (features, examples, from, to, options) =>
      workers.run({ features, examples, from, to, options }, { name: "rerankLabels" }),
    close: () => workers.destroy(),
  };
}

export function predictWith(
  predictor: Predictor,
  features: CsrMatrix,
  from = 0,
  to = features.rows,
): KnnResult {
  const k = predictor.topK;
  const rows = to - from;
  const out: KnnResult = {
    rows,
    k,
    ids: new Int32Array(rows * k),
    scores: new Float32Array(rows * k),
  };
  predictor.predictInto(features, out, from, to);
  return out;
}
