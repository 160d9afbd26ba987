// Worker thread entry of the piscina pool: one named export per task kind.
// Large inputs arrive once, through workerData, on shared memory; results are
// moved back (their buffers transferred, not copied).

import type { LearnerArrays, ModelMemory, PredictSettings } from "@annexml/model";
import { AnnexmlModel, type ModelInfo, type ModelPredictOptions, Predictor } from "@annexml/model";
import {
  type RerankExamples,
  type RerankerArrays,
  type RerankTrainOptions,
  trainRerankerRange,
} from "@annexml/rerank";
import type { CsrMatrix, DenseMatrix, LabelMatrix } from "@annexml/sparse-io";
import { Piscina } from "piscina";
import { predictWith } from "./engine/runner.js";
import {
  buffersOf,
  type IndexTaskOptions,
  indexTask,
  partitionTask,
  partTask,
  type TrainingData,
  type TrainSettings,
} from "./engine/tasks.js";
import { ProgressBoard } from "./engine/work.js";

type TrainWorkerData = {
  kind: "train";
  data: TrainingData;
  settings: TrainSettings;
  /** The progress board's slots (on a SharedArrayBuffer): see {@link ProgressBoard}. */
  progress: Int32Array;
};
type IndexWorkerData = { kind: "index" };
/** Started before the model was read: each predict task carries a {@link PredictWorkerData}. */
type PredictLaterWorkerData = { kind: "predictLater" };
type PredictWorkerData = {
  kind: "predict";
  info: ModelInfo;
  trainLabels: AnnexmlModel["trainLabels"];
  learners: LearnerArrays[];
  ids: AnnexmlModel["ids"];
  /** Where the vectors and graphs are, shared with every thread (see `AnnexmlModel.modelMemory`). */
  memory: ModelMemory | null;
  reranker: RerankerArrays | null;
  options: ModelPredictOptions;
};
/** The re-ranker stage of training: the ensemble's shortlists of the training rows, then per-label scorers. */
type RerankWorkerData = {
  kind: "rerank";
  trainLabels: LabelMatrix;
  learners: LearnerArrays[];
  settings: PredictSettings;
};

const shared = Piscina.workerData as
  | TrainWorkerData
  | PredictWorkerData
  | PredictLaterWorkerData
  | IndexWorkerData
  | RerankWorkerData;

function move<T extends object>(value: T): T {
  const buffers = buffersOf(value);
  return Piscina.move({
    get [Piscina.transferableSymbol]() {
      return buffers;
    },
    get [Piscina.valueSymbol]() {
      return value;
    },
  } as never) as T;
}

let board: ProgressBoard | null = null;

function training(): TrainWorkerData & { board: ProgressBoard } {
  if (shared.kind !== "train") throw new Error("this worker was started for prediction");
  board ??= new ProgressBoard(shared.progress);
  return { ...shared, board };
}

export function partition({ learner, slot }: { learner: number; slot?: number }) {
  const { data, settings, board } = training();
  return move(partitionTask(data, settings, learner, board.reporter(slot)));
}

export function part({
  learner,
  part,
  rows,
  slot,
}: {
  learner: number;
  part: number;
  rows: Int32Array;
  slot?: number;
}) {
  const { data, settings, board } = training();
  return move(partTask(data, settings, learner, part, rows, board.reporter(slot)));
}

export function index({ vectors, options }: { vectors: DenseMatrix; options: IndexTaskOptions }) {
  return move(indexTask(vectors, options));
}

let predictor: Predictor | null = null;

export function predict({
  features,
  from,
  to,
  setup,
}: {
  features: CsrMatrix;
  from: number;
  to: number;
  setup?: PredictWorkerData;
}) {
  const s = setup ?? shared;
  if (s.kind !== "predict") throw new Error("this worker was started for training");
  predictor ??= new AnnexmlModel(
    s.info,
    s.trainLabels,
    s.learners,
    s.ids,
    null,
    s.reranker,
  ).predictor(s.options, s.memory);
  return move(predictWith(predictor, features, from, to));
}

let shortlister: Predictor | null = null;

/** Rows `from .. to - 1`'s leave-one-out shortlists (re-ranker training). */
export function shortlist({
  features,
  from,
  to,
}: {
  features: CsrMatrix;
  from: number;
  to: number;
}) {
  if (shared.kind !== "rerank") throw new Error("this worker was not started for the re-ranker");
  shortlister ??= new Predictor(shared.trainLabels, shared.learners, shared.settings);
  return move(predictWith(shortlister, features, from, to));
}

/** The re-ranker's scorers of labels `from .. to - 1`. */
export function rerankLabels({
  features,
  examples,
  from,
  to,
  options,
}: {
  features: CsrMatrix;
  examples: RerankExamples;
  from: number;
  to: number;
  options: Partial<RerankTrainOptions>;
}) {
  return move(trainRerankerRange(features, examples, from, to, options));
}
