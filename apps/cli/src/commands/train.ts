import { stat } from "node:fs/promises";
import { readDataset } from "@annexml/sparse-io";
import { type AnnexmlParams, loadParams, requireFiles } from "../config.js";
import {
  availableMemory,
  dataSizes,
  estimateTraining,
  formatEstimate,
} from "../engine/estimate.js";
import { trainModel } from "../engine/trainer.js";
import { saveModel } from "../model/files.js";
import { Reporter } from "../progress.js";

/** `annexml train CONFIG.json [key=value ...]`: trains and writes model_file. */
export async function runTrain(configFile: string, overrides: string[]): Promise<void> {
  const params = await loadParams(configFile, overrides);
  if (params.dry_run === 1) {
    requireFiles(params, ["train_file"]);
    await printEstimate(params);
    return;
  }
  requireFiles(params, ["train_file", "model_file"]);
  const reporter = new Reporter({ verbose: params.verbose });
  await trainAndSave(params, reporter);
}

/** `dry_run=1`: reads the data and prints the estimated peak memory and model size; trains nothing. */
export async function printEstimate(params: AnnexmlParams): Promise<void> {
  const { features, labels } = await readDataset(params.train_file);
  const sizes = dataSizes(features, labels);
  const estimate = estimateTraining(sizes, params);
  const limit = params.max_memory > 0 ? params.max_memory * 1024 * 1024 : availableMemory();
  const lines = [
    `Train data: ${sizes.rows} rows, ${sizes.features} distinct features, ${sizes.labels} distinct labels, ${sizes.nnz} non-zeros; ` +
      `${params.num_learner} learners x ${estimate.partitions} partitions, ${params.num_thread} thread${params.num_thread > 1 ? "s" : ""}`,
    ...formatEstimate(estimate),
    `${params.max_memory > 0 ? `max_memory ${params.max_memory} MB` : `Available memory ${(limit / 1024 / 1024).toFixed(0)} MB`}: ` +
      (estimate.peakBytes <= limit ? "fits" : "does NOT fit: training would stop here"),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** Trains with `params` and saves to `model_file`, printing the summary. */
export async function trainAndSave(params: AnnexmlParams, reporter: Reporter): Promise<void> {
  const { model, timings } = await trainModel(params, reporter);
  const saveStart = performance.now();
  const bytes = await saveModel(model, params.model_file);
  const save = (performance.now() - saveStart) / 1000;
  const precision = model.info.stats.trainPrecision;
  if (precision) {
    precision.forEach((p, l) => {
      reporter.info(
        `Learner ${String(l).padStart(2)}: ${p.map((v, i) => `P@${i + 1} ${v.toFixed(4)}`).join(", ")}`,
      );
    });
  }
  reporter.info(
    `Done: load ${timings.load.toFixed(2)} s, partitioning ${timings.partition.toFixed(2)} s, ` +
      `embedding + search graphs ${timings.embed.toFixed(2)} s, save ${save.toFixed(2)} s, ` +
      `total ${(timings.total + save).toFixed(2)} s; model ${params.model_file} ${(bytes / 1e6).toFixed(2)} MB` +
      ` (peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`,
  );
  await stat(params.model_file);
}
