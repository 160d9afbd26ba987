import { embeddingModelFromArrays } from "@annexml/embed";
import type { AnnexmlModel, ModelPredictOptions } from "@annexml/model";
import { predictOptionsOf, scoreDigits, trainingOptionsOf } from "@annexml/model";
import {
  AtomicFileWriter,
  formatResultLine,
  type KnnResult,
  normalizeRows,
  readDatasetBatches,
} from "@annexml/sparse-io";
import type { AnnexmlParams } from "../config.js";
import type { Reporter } from "../progress.js";
import { createPredictRunner, type WorkerPool } from "./runner.js";
import { indexTask, searchGraphOptions } from "./tasks.js";

/** Rows read per batch; each batch is split into a few pieces per thread. */
const BATCH_ROWS = 8192;
/** Pieces of a batch per thread (see predictFile). */
const PIECES_PER_THREAD = 4;

/**
 * Replaces the stored search graphs by graphs of `numEdges` out-edges (when
 * a prediction asks for another num_edge than the model was trained with).
 * In memory only: the model file is not touched.
 */
export function rebuildGraphs(model: AnnexmlModel, numEdges: number): void {
  const p = trainingOptionsOf(model.info.params);
  model.learners.forEach((learner, l) => {
    learner.parts.forEach((part, k) => {
      if (part.rows.length === 0) return;
      const vectors = embeddingModelFromArrays(part.embedding).embeddings;
      part.index = indexTask(vectors, searchGraphOptions({ ...p, numEdges }, l, k));
    });
  });
}

/**
 * Predicts `predict_file` into `result_file` (streaming; `-` for stdin/stdout); returns rows and seconds.
 * `workers`: threads started early (see `startPredictWorkers`), owned from here on.
 */
export async function predictFile(
  model: AnnexmlModel,
  params: AnnexmlParams,
  reporter: Reporter,
  workers: WorkerPool | null = null,
): Promise<{ rows: number; seconds: number }> {
  const start = performance.now();
  const options: ModelPredictOptions = predictOptionsOf(params);
  const settings = model.predictSettings(options);
  const digits = settings.rerank ? 6 : scoreDigits(settings.vote);
  const jsonl = params.result_format === 1;
  const threads = params.num_thread;
  const runner = createPredictRunner(model, options, threads, workers);
  const writer = await AtomicFileWriter.open(params.result_file);
  let rows = 0;
  try {
    let phase: ReturnType<Reporter["phase"]> | null = null;
    // Threaded: batches land on shared memory and each task gets a row range, not a copy.
    const batches = readDatasetBatches(params.predict_file, {
      batchRows: BATCH_ROWS,
      shared: threads > 1,
    });
    for await (const batch of batches) {
      phase ??= reporter.phase("predicting", batch.header?.rows ?? 0, "rows");
      normalizeRows(batch.features);
      // A few pieces per thread, so a thread that is done takes the next
      // (threads differ by up to 20% on equal halves); results in order.
      const pieces =
        threads > 1
          ? splitRows(batch.features.rows, threads * PIECES_PER_THREAD)
          : [[0, batch.features.rows]];
      const results: KnnResult[] = await Promise.all(
        pieces.map(([from, to]) => runner.predict(batch.features, from, to)),
      );
      let text = "";
      const { indptr, indices } = batch.labels;
      pieces.forEach(([from], i) => {
        const result = results[i];
        for (let r = 0; r < result.rows; r++) {
          const row = from + r;
          const at = r * result.k;
          if (jsonl) {
            text += `${jsonResultLine(
              model,
              indices.subarray(indptr[row], indptr[row + 1]),
              result.ids.subarray(at, at + result.k),
              result.scores.subarray(at, at + result.k),
              digits,
            )}\n`;
            continue;
          }
          text += `${formatResultLine(
            indices.subarray(indptr[row], indptr[row + 1]),
            result.ids.subarray(at, at + result.k),
            result.scores.subarray(at, at + result.k),
            result.k,
            digits,
          )}\n`;
        }
      });
      await writer.write(text);
      rows += batch.features.rows;
      phase.tick(batch.features.rows);
    }
    phase?.done();
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    await runner.close();
  }
  return { rows, seconds: (performance.now() - start) / 1000 };
}

/**
 * One row of `result_format=jsonl`: `{"truth":[...],"labels":[...],
 * "scores":[...]}` (labels found, best first; scores with the result
 * file's decimals) and `"names"` when the model has label names.
 */
function jsonResultLine(
  model: AnnexmlModel,
  truth: Int32Array,
  ids: Int32Array,
  scores: Float32Array,
  digits: number,
): string {
  let n = 0;
  while (n < ids.length && ids[n] >= 0) n++;
  const labels = Array.from(ids.subarray(0, n));
  const row: Record<string, unknown> = {
    truth: Array.from(truth),
    labels,
    scores: Array.from(scores.subarray(0, n), (s) => Number(s.toFixed(digits))),
  };
  if (model.labelNames) row.names = labels.map((l) => model.labelName(l) ?? null);
  return JSON.stringify(row);
}

/** Rows `0 .. n - 1` in at most `pieces` ranges `[from, to)` of about equal size, in order. */
export function splitRows(n: number, pieces: number): [number, number][] {
  const out: [number, number][] = [];
  const size = Math.ceil(n / pieces);
  for (let from = 0; from < n; from += size) out.push([from, Math.min(n, from + size)]);
  return out.length ? out : [[0, 0]];
}
