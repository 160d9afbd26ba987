import { stat } from "node:fs/promises";
import { readDataset } from "@annexml/sparse-io";
import { type AnnexmlParams, loadParams, requireFiles } from "../config.js";
import {
  availableMemory,
  dataSizes,
  estimateTraining,
  formatEstimate,
} from "../engine/estimate.js";
import { trainModelInto } from "../engine/trainer.js";
import { ContainerWriter } from "../model/container.js";
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
  if (params.queue) {
    // A queued run fails in seconds on a bad queue, before reading the data.
    requireFiles(params, ["work_dir"]);
    const { checkQueueUrl, checkRedis } = await import("../queue/protocol.js");
    await checkRedis(checkQueueUrl(params.queue, "parameter 'queue'"));
  }
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

/**
 * Trains with `params`, streaming the model to `model_file` (a temporary
 * file renamed at the end: the target is replaced only by a complete,
 * checked model), and prints the summary.
 */
export async function trainAndSave(params: AnnexmlParams, reporter: Reporter): Promise<void> {
  const writer = await ContainerWriter.open(params.model_file);
  let bytes: number;
  let result: Awaited<ReturnType<typeof trainModelInto>>;
  let finish = 0;
  try {
    // The writer is the sink: each section goes to the file as it comes.
    result = await trainModelInto(writer, params, reporter);
    const finishStart = performance.now();
    bytes = await writer.finish(result.meta);
    finish = (performance.now() - finishStart) / 1000;
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const { info, timings } = result;
  const precision = info.stats.trainPrecision;
  if (precision) {
    precision.forEach((p, i) => {
      const l = info.shard ? info.shard.learners[i] : i;
      reporter.info(
        `Learner ${String(l).padStart(2)}: ${p.map((v, i) => `P@${i + 1} ${v.toFixed(4)}`).join(", ")}`,
      );
    });
  }
  reporter.info(
    `Done: load ${timings.load.toFixed(2)} s, partitioning ${timings.partition.toFixed(2)} s, ` +
      `embedding + search graphs ${timings.embed.toFixed(2)} s (model written as it was trained), ` +
      `total ${(timings.total + finish).toFixed(2)} s; model ${params.model_file} ${(bytes / 1e6).toFixed(2)} MB` +
      ` (peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`,
  );
  await stat(params.model_file);
}
