import { basename } from "node:path";
import { embeddingModelFromArrays } from "@annexml/embed";
import { labelKnnGraph } from "@annexml/knng";
import type { LearnerArrays, ModelInfo, PartArrays, SectionSpec } from "@annexml/model";
import {
  AnnexmlModel,
  COMPACT_VALUES,
  ModelEncoder,
  parseLearners,
  partOrder,
  trainingOptionsOf,
  trainingParamsOf,
} from "@annexml/model";
import {
  concatRerankers,
  type RerankExamples,
  type RerankerArrays,
  rerankExamples,
} from "@annexml/rerank";
import {
  AnnexmlError,
  type CsrMatrix,
  compactColumns,
  type Dataset,
  type LabelMatrix,
  normalizeRows,
  readDataset,
} from "@annexml/sparse-io";
import type { AnnexmlParams } from "../config.js";
import { nativeCrc } from "../model/container.js";
import { readLabelNamesFile } from "../model/label-names-file.js";
import { type Phase, Reporter } from "../progress.js";
import { packageVersions } from "../version.js";
import { estimateAndCheck } from "./estimate.js";
import { createRerankRunner, createTrainRunner, type TrainRunner } from "./runner.js";
import {
  emptyPart,
  ownTrainingData,
  type PartitionResult,
  searchGraphOptions,
  type TrainingData,
  type TrainSettings,
} from "./tasks.js";
import { embedWork, indexWork, type ProgressBoard } from "./work.js";

/** Seconds of each phase of a training run. */
export interface TrainTimings {
  load: number;
  partition: number;
  embed: number;
  /** The re-ranker (`rerank=1`): shortlists of the training rows and the per-label scorers. */
  rerank?: number;
  total: number;
}

/** Splits row ids by partition, each list ascending. */
export function groupByPartition(assignment: Int32Array, k: number): Int32Array[] {
  const counts = new Int32Array(k);
  for (const p of assignment) counts[p]++;
  const groups = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(k);
  for (let r = 0; r < assignment.length; r++) {
    const p = assignment[r];
    groups[p][fill[p]++] = r;
  }
  return groups;
}

/**
 * Trains a model: load and normalise the data, then per learner the
 * partitioner and the assignment of the training rows, then per (learner,
 * partition) the embedding and the search graph. Every task has its own
 * seed derived from `seed`, so the model is the same for any `num_thread`.
 * `data` replaces reading `train_file`; it is copied once (onto shared
 * memory when threaded) and the copy normalised: the caller's arrays are
 * left as they were.
 */
export async function trainModel(
  params: AnnexmlParams,
  reporter: Reporter = new Reporter({ verbose: 0 }),
  data?: Pick<Dataset, "features" | "labels">,
): Promise<{ model: AnnexmlModel; timings: TrainTimings }> {
  const { model, timings } = await train(params, reporter, data, null);
  return { model: model as AnnexmlModel, timings };
}

/** Where a streamed training run writes the model's sections, in file order. */
export interface SectionSink {
  write(sections: readonly SectionSpec[]): Promise<void>;
}

/**
 * Trains like {@link trainModel} and streams the model into `sink` as it
 * is produced (the training label sets and ids first, each partitioner
 * when all are done, each partition's embedding and search graph as it
 * finishes, in {@link partOrder}), holding no finished part: memory is the
 * data, the partitioners and the tasks in flight. Returns the index meta
 * data to end the file with. Always runs the tasks on worker threads (one
 * at `num_thread=1`), so the main thread writes, and a signal removes the
 * temporary file at once. The bytes equal `saveModel` of {@link trainModel}'s model.
 */
export async function trainModelInto(
  sink: SectionSink,
  params: AnnexmlParams,
  reporter: Reporter = new Reporter({ verbose: 0 }),
): Promise<{ meta: unknown; info: ModelInfo; timings: TrainTimings }> {
  const { meta, info, timings } = await train(params, reporter, undefined, sink);
  return { meta, info, timings };
}

async function train(
  params: AnnexmlParams,
  reporter: Reporter,
  data: Pick<Dataset, "features" | "labels"> | undefined,
  sink: SectionSink | null,
): Promise<{ model: AnnexmlModel | null; meta: unknown; info: ModelInfo; timings: TrainTimings }> {
  const start = performance.now();
  const threads = params.num_thread;
  // A shard trains some learners, each with its seeds in the full run.
  const learnerIds = parseLearners(params.learners, params.num_learner);
  if (params.rerank === 1 && learnerIds.length < params.num_learner) {
    // The re-ranker learns from the whole ensemble's shortlists: a shard has a part of it.
    throw new AnnexmlError(
      "BAD_OPTION",
      `option 'rerank' 1 needs every learner, but learners is ${JSON.stringify(params.learners)} (of num_learner ${params.num_learner}): train the re-ranker on the full run, not on a shard`,
    );
  }
  // Streaming keeps the main thread free (it writes, and handles signals):
  // the tasks run on worker threads, the data on shared memory.
  const workers = sink ? Math.max(threads, 1) : threads > 1 ? threads : 0;
  let dataset: Pick<Dataset, "features" | "labels">;
  if (data) dataset = ownTrainingData(data, workers > 0);
  else {
    reporter.info(`Loading ${params.train_file}`);
    dataset = await readDataset(params.train_file, { shared: workers > 0 });
  }
  // Every stage sizes its state by the number of feature and label ids:
  // renumber them densely (in their order, so the model is the one the
  // dense data would give), keep the original ids in the model.
  const fileFeatures = dataset.features.cols;
  const fileLabels = dataset.labels.cols;
  // The dataset is ours (read here, or our copy of the caller's): renumber in place.
  const compactFeatures = compactColumns(dataset.features, { inPlace: true });
  const compactLabels = compactColumns(dataset.labels, { inPlace: true });
  const features = compactFeatures.matrix;
  const labels = compactLabels.matrix;
  const fingerprint = dataFingerprint(features, labels, compactFeatures.ids, compactLabels.ids);
  const ids = {
    ...(compactFeatures.ids ? { features: compactFeatures.ids } : {}),
    ...(compactLabels.ids ? { labels: compactLabels.ids } : {}),
  };
  // Names are checked before any training (a wrong file fails in seconds).
  const labelNames = params.label_names
    ? await readLabelNamesFile(params.label_names, fileLabels, compactLabels.ids)
    : null;
  const n = features.rows;
  if (n === 0) {
    throw new AnnexmlError("BAD_FORMAT", "the training data has no rows", {
      file: params.train_file || undefined,
    });
  }
  // Fail early: refuse a run whose estimated peak exceeds the memory (or max_memory).
  estimateAndCheck(features, labels, params);
  normalizeRows(features);
  const load = (performance.now() - start) / 1000;
  const numPartitions = Math.max(Math.floor(n / params.cluster_size), 1);
  reporter.info(
    `Train data: ${n} rows, ${features.cols} features, ${labels.cols} labels, ${features.indices.length} non-zeros` +
      ` (${load.toFixed(2)} s); ${shardText(learnerIds, params.num_learner)} x ${numPartitions} partitions, ${threads} thread${threads > 1 ? "s" : ""}`,
  );

  const settings: TrainSettings = {
    ...trainingOptionsOf(params),
    numPartitions,
    diagnostic: params.verbose >= 2,
  };
  const trainingData: TrainingData = { features, labels };
  if (numPartitions === 1) {
    // Every learner embeds all rows: their positives are one graph, built once here.
    const graph = labelKnnGraph(labels, {
      k: params.num_nn,
      labelNormalize: params.label_normalize === 1,
    });
    trainingData.allRowsPositives =
      workers > 0
        ? { rows: graph.rows, k: graph.k, ids: toShared(graph.ids), scores: toShared(graph.scores) }
        : graph;
  }
  // Progress slots: one per partitioner, then an embedding and a graph per partition.
  // Below, learner i of this run is learner learnerIds[i] of the full run.
  const L = learnerIds.length;
  const encoder = sink ? new ModelEncoder(COMPACT_VALUES[params.compact] ?? "none") : null;
  if (sink && encoder) await sink.write(encoder.head(labels, ids, labelNames));
  const slots = L + 2 * L * numPartitions;
  // The queue's modules (BullMQ, ioredis) are loaded only for a queued run.
  const runner = params.queue
    ? await (await import("../queue/runner.js")).createQueueRunner(trainingData, settings, {
        url: params.queue,
        workDir: params.work_dir,
        slots,
        reporter,
      })
    : createTrainRunner(trainingData, settings, workers, slots);
  const board = runner.board;
  try {
    // Every learner's partitioner is the same work: the bars count fractions of learners.
    const partitionPhase = reporter.phase("partitioning", L, "learners", L);
    const partitionWeights = new Float64Array(L).fill(1);
    const stopPartitionTicker = ticker(board, partitionPhase, partitionWeights, 0);
    const partitions: PartitionResult[] = await Promise.all(
      learnerIds.map(async (l, i) => {
        const result = await runner.partition(l, i);
        board.reporter(i)(1);
        partitionPhase.tick();
        return result;
      }),
    );
    stopPartitionTicker();
    const partitionSeconds = partitionPhase.done();

    if (sink && encoder) {
      for (const [i, p] of partitions.entries())
        await sink.write(encoder.partition(learnerIds[i], p.arrays));
    }

    // One task per (learner, partition), largest first so threads finish together.
    const groups = partitions.map((p) => groupByPartition(p.assignment, p.arrays.k));
    const tasks = partOrder(groups.map((g) => g.map((rows) => rows.length))).map(([i, k]) => ({
      i,
      l: learnerIds[i],
      k,
      rows: groups[i][k],
    }));
    const parts: PartArrays[][] = groups.map((g) => new Array(g.length));
    const precisions: { precision?: ArrayLike<number>; rows: number }[][] = groups.map(() => []);
    // Work: per task, its embedding (slot L + 2i) then its graph (slot L + 2i + 1).
    const embedWeights = new Float64Array(2 * tasks.length);
    tasks.forEach(({ rows }, i) => {
      if (rows.length === 0) return;
      const w = embedWork(trainingData, settings, rows, rows.length === n && numPartitions === 1);
      embedWeights[2 * i] = w.setup + w.epochs;
      embedWeights[2 * i + 1] = indexWork(rows.length, settings);
    });
    const embedTotal = embedWeights.reduce((a, b) => a + b, 0);
    const embedPhase = reporter.phase("embedding", tasks.length, "partitions", embedTotal);
    const stopEmbedTicker = ticker(board, embedPhase, embedWeights, L);
    const runTask = async (i: number): Promise<PartArrays> => {
      const { l, k, rows } = tasks[i];
      const slot = L + 2 * i;
      const result =
        rows.length === 0
          ? emptyPart(settings.embSize, settings.numNeighbours)
          : await trainPart(runner, settings, l, k, rows, slot);
      board.reporter(slot)(1);
      board.reporter(slot + 1)(1);
      embedPhase.tick();
      return { rows, embedding: result.embedding, index: result.index };
    };
    await runner.plan?.(
      tasks.filter(({ rows }) => rows.length > 0).map(({ l, k }) => ({ learner: l, part: k })),
    );
    // Streamed: parts are written in task order, each as soon as it and
    // every part before it are done; at most `window` tasks are started
    // ahead of the oldest unwritten one, so few finished parts wait.
    // The re-ranker needs the ensemble's predictions on the training rows:
    // a streamed run then keeps every part too (memory: about the model size).
    const rerank = params.rerank === 1;
    const window = sink ? 2 * workers + 1 : tasks.length;
    await inOrder(tasks.length, window, runTask, async (t, part) => {
      const { i, l, k } = tasks[t];
      precisions[i].push({ precision: part.embedding.precision, rows: part.rows.length });
      if (sink && encoder) await sink.write(encoder.part(l, k, part));
      if (!sink || rerank) parts[i][k] = part;
    });
    stopEmbedTicker();
    const embedSeconds = embedPhase.done();
    const learners: LearnerArrays[] = partitions.map((p, l) => ({
      partition: p.arrays,
      parts: parts[l],
    }));
    let reranker: RerankerArrays | null = null;
    let rerankSeconds: number | undefined;
    if (rerank) {
      const t0 = performance.now();
      reranker = await trainRerankStage(features, labels, learners, params, workers);
      rerankSeconds = (performance.now() - t0) / 1000;
      const nnz = reranker.indptr[reranker.labels];
      reporter.info(
        `Re-ranker: ${reranker.labels} labels, ${nnz} weights (${rerankSeconds.toFixed(2)} s)`,
      );
      if (sink && encoder) await sink.write(encoder.reranker(reranker));
    }

    const trainingParams = trainingParamsOf(params);
    const info: ModelInfo = {
      origin: "annexml-ts",
      params: trainingParams,
      data: {
        file: params.train_file ? basename(params.train_file) : "",
        rows: n,
        features: fileFeatures,
        labels: fileLabels,
        nnz: features.indptr[features.rows],
        usedFeatures: features.cols,
        usedLabels: labels.cols,
        fingerprint,
      },
      stats: {
        partitions: partitions.map((p) => p.arrays.k),
        partitionSizes: groups.map((g) => g.map((rows) => rows.length)),
        partitionObjectives: partitions.map((p) => p.objectives),
        ...(settings.diagnostic
          ? { trainPrecision: precisions.map((p) => learnerPrecision(p)) }
          : {}),
      },
      versions: packageVersions(),
      ...(L < params.num_learner ? { shard: { learners: learnerIds } } : {}),
    };
    const total = (performance.now() - start) / 1000;
    const timings: TrainTimings = {
      load,
      partition: partitionSeconds,
      embed: embedSeconds,
      ...(rerankSeconds !== undefined ? { rerank: rerankSeconds } : {}),
      total,
    };
    if (encoder) return { model: null, meta: encoder.meta(info), info, timings };
    const model = new AnnexmlModel(
      info,
      { rows: labels.rows, cols: labels.cols, indptr: labels.indptr, indices: labels.indices },
      learners,
      ids,
      labelNames,
      reranker,
    );
    model.compact = COMPACT_VALUES[params.compact] ?? "none";
    return { model, meta: null, info, timings };
  } finally {
    await runner.close();
  }
}

/**
 * The re-ranker stage: every training row's shortlist (the vote's
 * `rerank_negatives` best labels of all learners, the row itself left out
 * of its own neighbours), then per label a scorer of its positives against
 * its hard negatives. On `workers` threads (0: this one), in row and label
 * ranges whose results are joined in order: the same for any thread count
 * (each label has its own seed). Memory: the shortlists (8 bytes per row
 * and shortlisted label), the examples (4 bytes each), and a copy of the
 * learners per worker.
 */
async function trainRerankStage(
  features: CsrMatrix,
  labels: LabelMatrix,
  learners: LearnerArrays[],
  params: AnnexmlParams,
  workers: number,
): Promise<RerankerArrays> {
  const c = params.rerank_negatives;
  const settings = {
    numLearners: learners.length,
    numNeighbours: params.num_nn,
    search: "graph" as const,
    searchEps: 0,
    topK: c,
    leaveOneOut: true,
  };
  const runner = createRerankRunner(labels, learners, settings, workers);
  try {
    const n = features.rows;
    const pieces = Math.max(1, 4 * workers);
    const rowStep = Math.ceil(n / pieces);
    const starts = Array.from({ length: Math.ceil(n / rowStep) }, (_, i) => i * rowStep);
    const results = await Promise.all(
      starts.map((from) => runner.shortlist(features, from, Math.min(n, from + rowStep))),
    );
    const ids = new Int32Array(n * c);
    const scores = new Float32Array(n * c);
    results.forEach((r, i) => {
      ids.set(r.ids, starts[i] * c);
      scores.set(r.scores, starts[i] * c);
    });
    const examples = rerankExamples(labels, { rows: n, k: c, ids, scores });
    const shared = workers > 0 ? onShared(examples) : examples;
    // Label ranges of about equal examples.
    const L = labels.cols;
    const total = examples.indptr[L];
    const ranges: [number, number][] = [];
    let from = 0;
    for (let l = 1; l <= L; l++) {
      if (l === L || examples.indptr[l] - examples.indptr[from] >= total / pieces) {
        ranges.push([from, l]);
        from = l;
      }
    }
    const options = { seed: params.seed, cost: params.rerank_cost };
    const scorers = await Promise.all(
      ranges.map(([a, b]) => runner.labels(features, shared, a, b, options)),
    );
    return concatRerankers(scorers);
  } finally {
    await runner.close();
  }
}

/**
 * Runs `run(0 .. count - 1)`, at most `window` ahead of the oldest result
 * not yet handed to `done`, and hands the results to `done` in index order
 * (one at a time). Rejects with the first error.
 */
async function inOrder<T>(
  count: number,
  window: number,
  run: (i: number) => Promise<T>,
  done: (i: number, result: T) => Promise<void>,
): Promise<void> {
  const results = new Map<number, T>();
  let next = 0;
  let handed = 0;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    let handing = false;
    const fail = (error: unknown) => {
      if (!failed) reject(error);
      failed = true;
    };
    const hand = async () => {
      if (handing) return;
      handing = true;
      try {
        while (!failed && results.has(handed)) {
          const result = results.get(handed) as T;
          results.delete(handed);
          await done(handed, result);
          handed++;
          start();
        }
      } catch (error) {
        fail(error);
      } finally {
        handing = false;
      }
      if (!failed && handed === count) resolve();
    };
    const start = () => {
      while (!failed && next < count && next < handed + window) {
        const i = next++;
        run(i).then((result) => {
          results.set(i, result);
          void hand();
        }, fail);
      }
    };
    start();
    if (count === 0) resolve();
  });
}

/** One partition: its embedding, then the search graph over the embedded rows. */
async function trainPart(
  runner: TrainRunner,
  settings: TrainSettings,
  learner: number,
  part: number,
  rows: Int32Array,
  slot: number,
): Promise<Pick<PartArrays, "embedding" | "index">> {
  if (runner.trainPart) return runner.trainPart(learner, part, rows, slot);
  const embedding = await runner.part(learner, part, rows, slot);
  runner.board.reporter(slot)(1);
  const vectors = embeddingModelFromArrays(embedding).embeddings;
  const index = await runner.index(vectors, searchGraphOptions(settings, learner, part));
  return { embedding, index };
}

/**
 * Feeds `phase` the work done of slots `from ..` (weighted) every 200 ms,
 * and on every report made in this thread (the in-process runner, throttled
 * to 100 ms); returns the stop function.
 */
function ticker(
  board: ProgressBoard,
  phase: Phase,
  weights: Float64Array,
  from: number,
): () => void {
  const read = () => phase.progress(board.done(weights, from));
  const timer = setInterval(read, 200);
  timer.unref();
  let last = 0;
  board.onReport = () => {
    const t = performance.now();
    if (t - last < 100) return;
    last = t;
    read();
  };
  return () => {
    clearInterval(timer);
    board.onReport = undefined;
    read();
  };
}

/** Examples on shared memory (the tasks read them without copies). */
function onShared(e: RerankExamples): RerankExamples {
  return { labels: e.labels, indptr: toShared(e.indptr), rows: toShared(e.rows) };
}

/** A copy of `array` on shared memory, for worker threads to read without copies. */
function toShared<T extends Int32Array | Float32Array>(array: T): T {
  const ctor = array.constructor as new (buffer: SharedArrayBuffer) => T;
  const out = new ctor(new SharedArrayBuffer(array.byteLength));
  out.set(array);
  return out;
}

/** A learner's training P@1..5: the partitions' diagnostics weighted by their sizes. */
function learnerPrecision(
  parts: readonly { precision?: ArrayLike<number>; rows: number }[],
): number[] {
  const total = [0, 0, 0, 0, 0];
  let rows = 0;
  for (const part of parts) {
    const p = part.precision;
    if (!p) continue;
    for (let i = 0; i < 5; i++) total[i] += p[i] * part.rows;
    rows += part.rows;
  }
  return total.map((t) => (rows ? t / rows : 0));
}

/**
 * CRC-32 (8 hex digits) of the training rows as trained on: renumbered ids
 * (and the original ids), values before normalising. Shards of one run
 * must agree on it (`annexml merge` checks).
 */
function dataFingerprint(
  features: CsrMatrix,
  labels: LabelMatrix,
  featureIds: Int32Array | null | undefined,
  labelIds: Int32Array | null | undefined,
): string {
  let crc = 0;
  const add = (array: Int32Array | Float32Array | null | undefined) => {
    if (array)
      crc = nativeCrc(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), crc);
  };
  for (const array of [
    features.indptr,
    features.indices,
    features.values,
    labels.indptr,
    labels.indices,
  ])
    add(array);
  add(featureIds);
  add(labelIds);
  return crc.toString(16).padStart(8, "0");
}

/** "15 learners", or for a shard "learners 0-4 of 15". */
function shardText(learnerIds: readonly number[], numLearners: number): string {
  if (learnerIds.length === numLearners) return `${numLearners} learners`;
  const ranges: string[] = [];
  for (let i = 0; i < learnerIds.length; ) {
    let j = i;
    while (j + 1 < learnerIds.length && learnerIds[j + 1] === learnerIds[j] + 1) j++;
    ranges.push(i === j ? `${learnerIds[i]}` : `${learnerIds[i]}-${learnerIds[j]}`);
    i = j + 1;
  }
  return `learners ${ranges.join(",")} of ${numLearners}`;
}
