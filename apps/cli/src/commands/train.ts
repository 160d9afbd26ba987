import { stat } from "node:fs/promises";
import { type AnnexmlParams, loadParams, requireFiles } from "../config.js";
import { trainModel } from "../engine/trainer.js";
import { Reporter } from "../progress.js";

/** `annexml train CONFIG.json [key=value ...]`: trains and writes model_file. */
export async function runTrain(configFile: string, overrides: string[]): Promise<void> {
  const params = await loadParams(configFile, overrides);
  requireFiles(params, ["train_file", "model_file"]);
  const reporter = new Reporter({ verbose: params.verbose });
  await trainAndSave(params, reporter);
}

/** Trains with `params` and saves to `model_file`, printing the summary. */
export async function trainAndSave(params: AnnexmlParams, reporter: Reporter): Promise<void> {
  const { model, timings } = await trainModel(params, reporter);
  const saveStart = performance.now();
  const bytes = await model.save(params.model_file);
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
