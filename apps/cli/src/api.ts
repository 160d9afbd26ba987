import type { Dataset } from "@annexml/sparse-io";
import { type AnnexmlParams, applyObject, defaultParams, requireFiles } from "./config.js";
import { trainModel } from "./engine/trainer.js";
import { AnnexmlModel } from "./model/model.js";
import { Reporter } from "./progress.js";

/**
 * Options of {@link train}: any config parameter (the original's snake_case
 * names, validated like a config file), plus either `train_file` or `data`
 * (feature rows and label sets; the rows are L2-normalised in place).
 * `verbose` defaults to 0 here (no progress on stderr).
 */
export type TrainOptions = Partial<AnnexmlParams> & {
  data?: Pick<Dataset, "features" | "labels">;
};

/**
 * Trains a model in memory (save it with `model.save(path)`). The same
 * options and seed give the same model for any `num_thread`.
 *
 * ```ts
 * const model = await train({ train_file: "data/bibtex/train.txt", num_learner: 5, num_thread: 2 });
 * await model.save("bibtex.model");
 * ```
 */
export async function train(options: TrainOptions): Promise<AnnexmlModel> {
  const { data, ...rest } = options;
  const params = applyObject({ ...defaultParams(), verbose: 0 }, rest, "train options");
  if (!data) requireFiles(params, ["train_file"]);
  const { model } = await trainModel(params, new Reporter({ verbose: params.verbose }), data);
  return model;
}

/**
 * Loads a model file (checked: magic, version, CRCs). Then
 * `model.predict(rows, { k })` gives the top-k labels of feature rows.
 */
export async function loadModel(path: string): Promise<AnnexmlModel> {
  return (await AnnexmlModel.load(path)).model;
}
