import {
  type AnnexmlModel,
  paramsFromOptions,
  RUN_OPTIONS,
  type RunOptions,
  TRAINING_OPTIONS,
  type TrainingOptions,
} from "@annexml/model";
import { AnnexmlError, type Dataset, validateCsr } from "@annexml/sparse-io";
import { type AnnexmlParams, defaultParams } from "./config.js";
import { trainModel } from "./engine/trainer.js";
import { readModelFile } from "./model/files.js";
import { Reporter } from "./progress.js";

/**
 * Options of {@link train}: the training parameters in camelCase (see
 * `TRAINING_OPTIONS`: `embSize`, `numLearners`, `numNeighbours`,
 * `partitioner: "mincut" | "kmeans"`, `partitionerIters`, `embIters`,
 * `labelNormalize: boolean`, `eta0`, `lambda`, `gamma`, `numEdges`, `seed`,
 * `clusterSize`, `anchorStep: "merged" | "per-sample"`, `rsqrt: "exact" |
 * "approx"`), `numThreads`,
 * `verbose` (default 0 here: no progress on stderr), `compact: "none" |
 * "f16" | "int8"` (how `model.save` stores it; default "none"), and either `trainFile`
 * or `data` (feature rows and label sets; never changed: training works on
 * a copy, shared by the worker threads). Defaults are the config's.
 */
export type TrainOptions = Partial<TrainingOptions & RunOptions> & {
  data?: Pick<Dataset, "features" | "labels">;
};

/**
 * Trains a model in memory (save it with `saveModel(model, path)`). The same
 * options and seed give the same model for any `numThreads`. Throws an
 * `AnnexmlError` with code `BAD_OPTION` naming an unknown option or a bad
 * value (and what is valid); data and file problems have their own codes.
 *
 * ```ts
 * const model = await train({ trainFile: "data/bibtex/train.txt", numLearners: 5, numThreads: 2 });
 * await saveModel(model, "bibtex.model");
 * ```
 */
export async function train(options: TrainOptions): Promise<AnnexmlModel> {
  const given = paramsFromOptions(options, [TRAINING_OPTIONS, RUN_OPTIONS], "train", ["data"]);
  const params: AnnexmlParams = { ...defaultParams(), verbose: 0, ...given };
  const data = options.data;
  if (data === undefined) {
    if (params.train_file === "") {
      throw new AnnexmlError("BAD_OPTION", "train needs the option 'trainFile' or 'data'");
    }
  } else {
    if (params.train_file !== "") {
      throw new AnnexmlError("BAD_OPTION", "train takes 'trainFile' or 'data', not both");
    }
    checkData(data);
  }
  const { model } = await trainModel(params, new Reporter({ verbose: params.verbose }), data);
  return model;
}

/** `data` must be `{ features, labels }`: CSR matrices of the same rows. */
function checkData(data: unknown): void {
  const d = data as Pick<Dataset, "features" | "labels"> | null;
  try {
    if (
      d === null ||
      typeof d !== "object" ||
      typeof d.features !== "object" ||
      typeof d.labels !== "object" ||
      d.features === null ||
      d.labels === null
    ) {
      throw new Error("it must be { features, labels }");
    }
    validateCsr(d.features, "features");
    validateCsr(d.labels, "labels");
    if (!(d.features.values instanceof Float32Array)) {
      throw new Error("features.values must be a Float32Array");
    }
    if (d.features.rows !== d.labels.rows) {
      throw new Error(
        `features and labels must have the same rows, but have ${d.features.rows} and ${d.labels.rows}`,
      );
    }
  } catch (error) {
    throw new AnnexmlError(
      "BAD_OPTION",
      `option 'data' of train: ${(error as Error).message}`,
      {},
      {
        cause: error,
      },
    );
  }
}

/**
 * Loads a model file (checked: magic, version, CRCs). Then
 * `model.predict(rows, { k })` gives the top-k labels of feature rows.
 */
export async function loadModel(path: string): Promise<AnnexmlModel> {
  return (await readModelFile(path)).model;
}
