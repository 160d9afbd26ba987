import { basename } from "node:path";
import type { IndexArrays } from "@annexml/ann-search";
import {
  AnnexmlModel,
  checkChoice,
  type ModelInfo,
  optionEntries,
  optionError,
  type TrainingOptions,
  type TrainingParams,
  trainingOptionsOf,
  trainingParamsOf,
} from "@annexml/model";
import { checkNumber, defaultParams, PARAMS } from "../config.js";
import { createIndexRunner } from "../engine/runner.js";
import { emptyPart, searchGraphOptions } from "../engine/tasks.js";
import { Reporter } from "../progress.js";
import { packageVersions } from "../version.js";
import { type CppModel, type Feature0Mode, readCppModel } from "./cpp-model.js";
import { type ByteSource, fileSource } from "./source.js";

/** Options of {@link importCppModel}. */
export interface ImportOptions {
  /** Threads building the search graphs (1 = in this thread; default 1; at most 1024). */
  numThreads?: number;
  /** Feature-0 semantics (default `original`: predictions match the original; see {@link Feature0Mode}). */
  feature0?: Feature0Mode;
  /** Progress and summary on stderr (a `Reporter`; default: silent). */
  reporter?: Reporter;
}

/** Defaults of {@link ImportOptions}. */
export const DEFAULT_IMPORT_OPTIONS: Readonly<Required<Omit<ImportOptions, "reporter">>> =
  Object.freeze({
    numThreads: 1,
    feature0: "original",
  });

const IMPORT_OPTION_NAMES: readonly (keyof ImportOptions)[] = [
  "numThreads",
  "feature0",
  "reporter",
];
const FEATURE0_MODES: readonly Feature0Mode[] = ["original", "trained"];

/**
 * Checks `options` and fills in the defaults; throws an `AnnexmlError`
 * `BAD_OPTION` naming a bad value or an unknown option.
 */
export function validateImportOptions(options: ImportOptions = {}): Required<ImportOptions> {
  const o: Required<ImportOptions> = {
    ...DEFAULT_IMPORT_OPTIONS,
    reporter: new Reporter({ verbose: 0 }),
  };
  for (const [key, value] of optionEntries(options, IMPORT_OPTION_NAMES, "importCppModel")) {
    const what = `option '${key}' of importCppModel`;
    if (key === "numThreads") {
      if (typeof value !== "number") {
        throw optionError(`${what} must be an integer, but is ${JSON.stringify(value)}`);
      }
      o.numThreads = checkNumber(PARAMS.num_thread, value, what);
    } else if (key === "feature0") {
      o.feature0 = checkChoice(value, FEATURE0_MODES, what);
    } else if (value instanceof Reporter) {
      o.reporter = value;
    } else {
      throw optionError(`${what} must be a Reporter, but is ${typeof value}`);
    }
  }
  return o;
}

/** The original's fixed partition size (K = max(floor(N / 6000), 1)). */
const CPP_CLUSTER_SIZE = 6000;

/**
 * Imports a model of the original C++ AnnexML (`model.bin`): reads and
 * checks it (streaming; see {@link readCppModel}), converts it to our model,
 * and builds each partition's search graph (leaf size = its num_nn,
 * num_edge out-edges, seeds as our trainer's). The model records origin
 * `annexml-cpp` and notes on the semantics it reproduces. Save it with
 * `saveModel(model, path)`.
 *
 * ```ts
 * const model = await importCppModel("model.bin", { numThreads: 2 });
 * await saveModel(model, "bibtex.annexml");
 * ```
 */
export async function importCppModel(
  path: string,
  options: ImportOptions = {},
): Promise<AnnexmlModel> {
  validateImportOptions(options);
  const source = await fileSource(path);
  try {
    return await importCppModelFrom(source, options);
  } finally {
    await source.close();
  }
}

/** {@link importCppModel} from any {@link ByteSource} (e.g. bytes in memory). */
export async function importCppModelFrom(
  source: ByteSource,
  options: ImportOptions = {},
): Promise<AnnexmlModel> {
  const o = validateImportOptions(options);
  const reporter = o.reporter;
  const start = performance.now();
  const cpp = await readCppModel(source, { feature0: o.feature0, shared: o.numThreads > 1 });
  const readSeconds = (performance.now() - start) / 1000;
  const ks = cpp.learners.map((l) => l.partition.k);
  reporter.info(
    `Read ${source.name} (${(cpp.fileBytes / 1e6).toFixed(2)} MB) in ${readSeconds.toFixed(2)} s: ` +
      `${cpp.trainLabels.rows} training rows, ${cpp.learners.length} learners x ${[...new Set(ks)].join("/")} partitions, ` +
      `emb_size ${cpp.params.emb_size}`,
  );
  const info = modelInfo(cpp, source.name);
  const indexes = await buildIndexes(cpp, trainingOptionsOf(info.params), o.numThreads, reporter);
  const learners = cpp.learners.map((learner, l) => ({
    partition: learner.partition,
    parts: learner.parts.map((part, k) => ({
      rows: part.rows,
      embedding: part.embedding,
      index: indexes[l][k],
    })),
  }));
  return new AnnexmlModel(
    info,
    cpp.trainLabels,
    learners,
    cpp.labelIds ? { labels: cpp.labelIds } : {},
  );
}

/**
 * Builds each partition's search graph with the trainer's builder
 * ({@link searchGraphOptions}: leaf size num_nn, num_edge out-edges, the
 * trainer's seeds), so `predict num_edge=...` rebuilds alike.
 */
async function buildIndexes(
  cpp: CppModel,
  p: TrainingOptions,
  threads: number,
  reporter: Reporter,
): Promise<IndexArrays[][]> {
  const out: IndexArrays[][] = cpp.learners.map((l) => new Array(l.parts.length));
  const tasks: { l: number; k: number; rows: number }[] = [];
  cpp.learners.forEach((learner, l) => {
    learner.parts.forEach((part, k) => {
      if (part.rows.length > 0) tasks.push({ l, k, rows: part.rows.length });
      else out[l][k] = emptyPart(part.embedding.embSize, p.numNeighbours).index;
    });
  });
  // Largest first, so the threads finish together.
  tasks.sort((a, b) => b.rows - a.rows || a.l - b.l || a.k - b.k);
  const runner = createIndexRunner(threads);
  const phase = reporter.phase("building search graphs", tasks.length, "partitions");
  try {
    // Bounded in-flight tasks: the pool's queue is bounded too.
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) {
        const { l, k } = tasks[next++];
        const e = cpp.learners[l].parts[k].embedding;
        out[l][k] = await runner.index(
          { rows: e.rows, cols: e.embSize, stride: e.stride, data: e.embeddings },
          searchGraphOptions(p, l, k),
        );
        phase.tick();
      }
    };
    await Promise.all(Array.from({ length: Math.min(threads, tasks.length) || 1 }, worker));
  } finally {
    await runner.close();
  }
  const seconds = phase.done();
  reporter.info(
    `Built ${tasks.length} search graph${tasks.length === 1 ? "" : "s"} (num_edge ${p.numEdges}, leaf size ${p.numNeighbours}) in ${seconds.toFixed(2)} s with ${threads} thread${threads > 1 ? "s" : ""}`,
  );
  return out;
}

/** The shortest decimal that reads back as the same float32 (0.1f is stored as 0.100000001...). */
function shortFloat(x: number): number {
  for (let digits = 1; digits <= 9; digits++) {
    const y = Number(x.toPrecision(digits));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

function modelInfo(cpp: CppModel, path: string): ModelInfo {
  const p = cpp.params;
  // Training parameters the original has no counterpart for: cluster_size,
  // anchor_step and adagrad_rsqrt describe the original's behaviour (fixed partition size,
  // per-sample updates, exact square roots); any other keeps our default.
  const params: TrainingParams = {
    ...trainingParamsOf(defaultParams()),
    emb_size: p.emb_size,
    num_learner: cpp.learners.length,
    num_nn: p.num_nn,
    cls_type: p.cls_type,
    cls_iter: p.cls_iter,
    emb_iter: p.emb_iter,
    label_normalize: p.label_normalize,
    eta0: shortFloat(p.eta0),
    lambda: shortFloat(p.lambda),
    gamma: shortFloat(p.gamma),
    num_edge: p.num_edge,
    seed: p.seed >>> 0,
    cluster_size: CPP_CLUSTER_SIZE,
    anchor_step: 0,
    adagrad_rsqrt: 0,
  };
  return {
    origin: "annexml-cpp",
    params,
    data: {
      file: p.train_file ? basename(p.train_file) : "",
      rows: cpp.trainLabels.rows,
      features: cpp.numFeatures,
      labels: cpp.labelCols,
      nnz: 0,
    },
    stats: {
      partitions: cpp.learners.map((l) => l.partition.k),
      partitionSizes: cpp.learners.map((l) => l.parts.map((part) => part.rows.length)),
    },
    versions: packageVersions(),
    notes: importNotes(cpp, path),
  };
}

/** What `annexml info` says about an imported model: where it came from and which semantics it keeps. */
export function importNotes(cpp: CppModel, path: string): string[] {
  const s = cpp.stats;
  const p = cpp.params;
  const notes = [
    `imported from ${basename(path)}, a model of the original C++ AnnexML (${cpp.fileBytes} bytes; ` +
      `trained on ${p.train_file || "an unnamed file"}, which the model does not describe further: data.nnz is unknown, 0); ` +
      `the search graphs were built at import (leaf size num_nn = ${p.num_nn}, num_edge = ${p.num_edge}), as the original builds them at every load`,
  ];
  const withTrained = `${s.trainedFeature0Rows} of ${s.partitions} partitions`;
  if (cpp.feature0 === "original") {
    notes.push(
      "feature0=original: feature 0 uses the original's untrained (random) projection row, stored first in every partition, " +
        "because the original's lookup (a binary search for the first row with id >= f) finds that row before a trained row of feature 0; " +
        `predictions match the original's. ${withTrained} also have a trained feature-0 row, unused here: ` +
        "re-import with feature0=trained to use it",
    );
  } else {
    notes.push(
      "feature0=trained: feature 0 uses its trained projection row " +
        `(${withTrained} have one; in the others feature 0 is ignored like any feature the partition lacks), ` +
        "not the original's untrained row: predictions of rows with feature 0 differ from the original's. " +
        "The stored training-row embeddings are kept as the original computed them (with the untrained row)",
    );
  }
  notes.push(
    "a feature without a projection row in the query's partition is ignored, exactly as in the original " +
      "(its lookup adds a row only when the row's id equals the feature)",
  );
  if (s.duplicateLabels > 0) {
    notes.push(
      `${s.duplicateLabels} repeated labels were removed from the training label sets (the original counts a repeated label's votes twice)`,
    );
  }
  if (s.nonFiniteEmbeddings > 0) {
    notes.push(
      `${s.nonFiniteEmbeddings} training rows had a NaN embedding (a zero projection divided by its zero norm in the original) and are stored as zero vectors`,
    );
  }
  if (s.mergedPartitionEntries > 0 || s.zeroPartitionWeights > 0) {
    notes.push(
      `partitioners: ${s.mergedPartitionEntries} repeated (feature, partition) entries summed, ${s.zeroPartitionWeights} zero weights dropped`,
    );
  }
  return notes;
}
