import {
  evaluate,
  evaluatePropensityScored,
  formatMetrics,
  inversePropensities,
  metricsToJSON,
} from "@annexml/eval";
import {
  AnnexmlError,
  IdLookup,
  type KnnResult,
  type LabelMatrix,
  readDataset,
  readResultFile,
  usedColumns,
} from "@annexml/sparse-io";

/** Options of `annexml eval`. */
export interface EvalCommandOptions {
  train?: string;
  A: number;
  B: number;
  k: number;
  json?: boolean;
}

/**
 * Evaluates a result file: the lines of the original evaluation script
 * (`#samples=`, `P@k=`, `nDCG@k=`), then, with a train file for the
 * propensities, those of its propensity-scored script (`PSP@k=`,
 * `PSnDCG@k=`). Returns the text to print.
 */
export async function runEval(resultFile: string, options: EvalCommandOptions): Promise<string> {
  // The options are checked here, so a data error of @annexml/eval below is about the files.
  if (!Number.isInteger(options.k) || options.k < 1) {
    throw new AnnexmlError("BAD_OPTION", `--k must be a positive integer, but is ${options.k}`);
  }
  if (!(Number.isFinite(options.A) && options.A >= 0)) {
    throw new AnnexmlError("BAD_OPTION", `-A must be a finite number >= 0, but is ${options.A}`);
  }
  if (!(Number.isFinite(options.B) && options.B > 0)) {
    throw new AnnexmlError("BAD_OPTION", `-B must be a finite number > 0, but is ${options.B}`);
  }
  const [read, trainData] = await Promise.all([
    readResultFile(resultFile),
    options.train ? readDataset(options.train, { checkHeader: false }) : Promise.resolve(null),
  ]);
  const dense = denseLabelIds(read.truth, read.predictions, trainData?.labels ?? null);
  const result = { truth: dense.truth, predictions: dense.predictions };
  const train = trainData && dense.train ? { labels: dense.train } : null;
  const ranking = aboutFile(resultFile, () =>
    evaluate(result.truth, result.predictions, { k: options.k }),
  );
  const propensities =
    train && options.train
      ? aboutFile(options.train, () =>
          inversePropensities(train.labels, { A: options.A, B: options.B }),
        )
      : null;
  const scored = propensities
    ? aboutFile(resultFile, () =>
        evaluatePropensityScored(result.truth, result.predictions, propensities, {
          k: options.k,
        }),
      )
    : null;
  if (options.json) {
    return JSON.stringify({
      file: resultFile,
      ...metricsToJSON(ranking),
      ...(scored ? { ...metricsToJSON(scored), A: options.A, B: options.B } : {}),
    });
  }
  let text = formatMetrics(ranking);
  // The propensity-scored block repeats `#samples=`; print it once.
  if (scored) text += formatMetrics(scored).split("\n").slice(1).join("\n");
  return text.trimEnd();
}

/**
 * Runs `f`; a data error of @annexml/eval it throws (an `AnnexmlError` without
 * a location other than `BAD_OPTION`: a label id too large to rank, no
 * training rows) is a problem of `file`.
 */
function aboutFile<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof AnnexmlError && error.code !== "BAD_OPTION" && error.file === undefined) {
      throw new AnnexmlError("BAD_FORMAT", error.message, { file }, { cause: error });
    }
    throw error;
  }
}

/** Label ids up to this are used as they are (the metrics' scratch tables are indexed by id). */
const DENSE_LABEL_LIMIT = 1 << 24;

/**
 * The same label sets and predictions with label ids renumbered densely (in
 * their order, so every metric is unchanged: ranks break ties by id) when
 * some id is large: memory then follows the labels in use, not their ids.
 */
function denseLabelIds(
  truth: LabelMatrix,
  predictions: KnnResult,
  train: LabelMatrix | null,
): { truth: LabelMatrix; predictions: KnnResult; train: LabelMatrix | null } {
  const parts = [truth.indices.subarray(0, truth.indptr[truth.rows])];
  if (train) parts.push(train.indices.subarray(0, train.indptr[train.rows]));
  let max = -1;
  for (const ids of [...parts, predictions.ids]) for (const id of ids) if (id > max) max = id;
  if (max < DENSE_LABEL_LIMIT) return { truth, predictions, train };
  const used = predictions.ids.filter((id) => id >= 0);
  const all = new Int32Array(used.length + parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const ids of [used, ...parts]) {
    all.set(ids, at);
    at += ids.length;
  }
  // Every id in use, as the columns of one row: sparse-io's distinct-id scan.
  const lookup = new IdLookup(
    usedColumns({ rows: 1, cols: max + 1, indptr: Int32Array.of(0, all.length), indices: all }),
  );
  const map = (m: LabelMatrix): LabelMatrix => ({
    ...m,
    cols: lookup.size,
    indices: m.indices.map((id) => lookup.dense(id)),
  });
  return {
    truth: map(truth),
    predictions: {
      ...predictions,
      ids: predictions.ids.map((id) => (id < 0 ? id : lookup.dense(id))),
    },
    train: train ? map(train) : null,
  };
}
