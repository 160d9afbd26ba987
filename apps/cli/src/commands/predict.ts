import { type AnnexmlModel, predictOptionsOf } from "@annexml/model";
import { type AnnexmlParams, loadParams, requireFiles } from "../config.js";
import { predictFile, rebuildGraphs } from "../engine/predict-file.js";
import { startPredictWorkers } from "../engine/runner.js";
import { readModelFile } from "../model/files.js";
import { Reporter } from "../progress.js";

/**
 * `annexml predict CONFIG.json [key=value ...]`: predicts predict_file with
 * model_file into result_file. Only the prediction parameters apply; the
 * model keeps its training parameters.
 */
export async function runPredict(configFile: string, overrides: string[]): Promise<void> {
  const params = await loadParams(configFile, overrides);
  requireFiles(params, ["model_file", "predict_file", "result_file"]);
  const reporter = new Reporter({ verbose: params.verbose });
  const start = performance.now();
  // The worker threads boot and load their code while this one reads the model.
  const workers = params.num_thread > 1 ? startPredictWorkers(params.num_thread) : null;
  const model = await loadForPrediction(params, reporter, start).catch(async (error: unknown) => {
    await workers?.destroy();
    throw error;
  });
  const { rows, seconds } = await predictFile(model, params, reporter, workers);
  reporter.info(
    `Done: ${rows} rows in ${seconds.toFixed(2)} s (${(rows / Math.max(seconds, 1e-9)).toFixed(0)} rows/s), ` +
      `total ${((performance.now() - start) / 1000).toFixed(2)} s` +
      ` (peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`,
  );
}

/** Reads model_file for `predict` (rebuilding the graphs for another num_edge, laid out for the search). */
async function loadForPrediction(
  params: AnnexmlParams,
  reporter: Reporter,
  start: number,
): Promise<AnnexmlModel> {
  // Into one shared WebAssembly memory: the search kernels of every thread
  // read the vectors and graphs there, so the model is in memory once.
  const { model, fileBytes } = await readModelFile(params.model_file, {
    shared: params.num_thread > 1,
    memory: true,
  });
  const load = (performance.now() - start) / 1000;
  reporter.info(
    `Loaded ${params.model_file} (${(fileBytes / 1e6).toFixed(2)} MB, ${model.numLearners} learners) in ${load.toFixed(2)} s`,
  );
  if (params.num_learner > model.numLearners) {
    reporter.info(
      `Note: num_learner=${params.num_learner} but the model has ${model.numLearners}; using ${model.numLearners}`,
    );
  }
  if (params.num_edge !== model.info.params.num_edge) {
    reporter.info(
      `Note: num_edge=${params.num_edge} differs from the model's ${model.info.params.num_edge}: rebuilding the search graphs in memory`,
    );
    const t = performance.now();
    rebuildGraphs(model, params.num_edge);
    reporter.info(`Rebuilt the search graphs in ${((performance.now() - t) / 1000).toFixed(2)} s`);
  }
  // Once for every thread, where they are (after any rebuild, which reads
  // them in row order): the vectors and graphs in the search's leaf order.
  if (model.predictSettings(predictOptionsOf(params)).search === "graph") model.layOutForSearch();
  return model;
}
