// Worker thread entry of the piscina pool: one named export per task kind.
// Large inputs arrive once, through workerData, on shared memory; results are
// moved back (their buffers transferred, not copied).

import type { LearnerArrays, ModelMemory, Predictor } from "@annexml/model";
import { AnnexmlModel, type ModelInfo, type ModelPredictOptions } from "@annexml/model";
import type { CsrMatrix, DenseMatrix } from "@annexml/sparse-io";
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
type PredictWorkerData = {
  kind: "predict";
  info: ModelInfo;
  trainLabels: AnnexmlModel["trainLabels"];
  learners: LearnerArrays[];
  ids: AnnexmlModel["ids"];
  /** Where the vectors and graphs are, shared with every thread (see `AnnexmlModel.modelMemory`). */
  memory: ModelMemory | null;
  options: ModelPredictOptions;
};

const shared = Piscina.workerData as TrainWorkerData | PredictWorkerData | IndexWorkerData;

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

export function predict({ features, from, to }: { features: CsrMatrix; from: number; to: number }) {
  if (shared.kind !== "predict") throw new Error("this worker was started for training");
  predictor ??= new AnnexmlModel(
    shared.info,
    shared.trainLabels,
    shared.learners,
    shared.ids,
  ).predictor(shared.options, shared.memory);
  return move(predictWith(predictor, features, from, to));
}
