import type { CsrMatrix, LabelMatrix } from "@annexml/sparse-io";
import type { TrainSettings } from "./tasks.js";

/**
 * The cost model of the training tasks, in estimated seconds of one thread
 * (measured on bibtex and delicious; only ratios matter): what the
 * progress bars count, so that their fraction is a fraction of the time.
 * A task's work is its `setup` (the positives graph) then its `epochs`; the
 * task reports how far it is (`onProgress` of partition and embed) and the
 * main thread adds it up. Estimates only: nothing here changes a result.
 */
export interface TaskWork {
  setup: number;
  epochs: number;
}

/** Seconds per (positives or negatives sample x non-zero) of a min-cut row visit. */
const MINCUT_SAMPLE_NNZ = 60e-9;
/** Seconds per (sample x non-zero x stride) of an embedding row update. */
const EMBED_SAMPLE_NNZ_DIM = 1.6e-9;
/** Seconds per (co-occurrence pair) of a label kNN graph, and per row. */
const GRAPH_PAIR = 6.5e-9;
const GRAPH_PAIR_PRUNED = 3.5e-9;
const GRAPH_ROW = 8e-6;
/**
 * Seconds per (rows^1.5 x stride) of a search-graph build: its kNN graph
 * (exact up to 8000 rows, ann-search's AUTO_EXACT_MAX_ROWS, blocked SIMD:
 * between linear and quadratic in the rows as measured on 1000-7000 rows);
 * beyond, NN-descent, about linear in the rows.
 */
const INDEX_ROWS15_DIM = 21e-9;
const INDEX_EXACT_ROWS = 8000;

/** Sum over labels of count * min(count, cap) among `rows` (all rows when omitted). */
function labelPairs(labels: LabelMatrix, rows: Int32Array | undefined, cap: number): number {
  const counts = new Float64Array(labels.cols);
  const { indptr, indices } = labels;
  const n = rows ? rows.length : labels.rows;
  for (let i = 0; i < n; i++) {
    const r = rows ? rows[i] : i;
    for (let p = indptr[r]; p < indptr[r + 1]; p++) counts[indices[p]]++;
  }
  let pairs = 0;
  for (const c of counts) pairs += c * Math.min(c, cap);
  return pairs;
}

function nonZeros(features: CsrMatrix, rows?: Int32Array): number {
  if (!rows) return features.indptr[features.rows] - features.indptr[0];
  let nnz = 0;
  for (const r of rows) nnz += features.indptr[r + 1] - features.indptr[r];
  return nnz;
}

/** One learner's partitioner: the min-cut positives graph, then `iters` epochs over all rows. */
export function partitionWork(
  data: { features: CsrMatrix; labels: LabelMatrix },
  s: TrainSettings,
): TaskWork {
  const n = data.features.rows;
  const mincut = s.partitioner !== "kmeans"; // "tree" trains min-cuts too
  const setup = mincut
    ? GRAPH_PAIR_PRUNED * labelPairs(data.labels, undefined, 5000) + GRAPH_ROW * n
    : 0;
  const perSample = mincut ? 2 * s.numNeighbours + 1 : s.numPartitions;
  const epochs = s.partitionerIters * nonZeros(data.features) * perSample * MINCUT_SAMPLE_NNZ;
  return { setup, epochs };
}

/** One partition's embedding: its positives graph (unless given), then `embIters` epochs. */
export function embedWork(
  data: { features: CsrMatrix; labels: LabelMatrix },
  s: TrainSettings,
  rows: Int32Array,
  positivesGiven: boolean,
): TaskWork {
  const setup = positivesGiven
    ? 0
    : GRAPH_PAIR * labelPairs(data.labels, rows, Number.POSITIVE_INFINITY) +
      GRAPH_ROW * rows.length;
  const stride = 4 * Math.ceil(s.embSize / 4);
  // One AdaGrad step per sample on the anchor side costs about 1.45x the merged step.
  const anchor = s.anchorStep === "per-sample" ? 1.45 : 1;
  const epochs =
    anchor *
    s.embIters *
    nonZeros(data.features, rows) *
    (2 * s.numNeighbours + 1) *
    stride *
    EMBED_SAMPLE_NNZ_DIM;
  return { setup, epochs };
}

/** The search-graph build over a partition's `rows` embeddings. */
export function indexWork(rows: number, s: Pick<TrainSettings, "numEdges" | "embSize">): number {
  if (rows <= 1 || s.numEdges < 1) return 0;
  const stride = 4 * Math.ceil(s.embSize / 4);
  return rows * Math.sqrt(Math.min(rows, INDEX_EXACT_ROWS)) * stride * INDEX_ROWS15_DIM;
}

/** Fixed-point scale of a task's fraction done in a {@link ProgressBoard} slot. */
const SCALE = 1 << 20;

/** Reports a task's fraction done (0..1, never decreasing). */
export type TaskReport = (fraction: number) => void;

/** Ignores the report (a task without a slot). */
export const noReport: TaskReport = () => {};

/**
 * The fraction done of every task of a training run, one Int32 slot per
 * task (fixed point), on a `SharedArrayBuffer` when threaded: passed once
 * in `workerData`, written by the task running it (`Atomics.store`), read
 * by the main thread's progress ticker. Writes never block or wait.
 */
export class ProgressBoard {
  readonly slots: Int32Array;
  /** Called (in the thread that reports) after a report: the in-process runner's hook. */
  onReport: (() => void) | undefined;

  constructor(slots: number | Int32Array, shared = false) {
    this.slots =
      typeof slots === "number"
        ? new Int32Array(shared ? new SharedArrayBuffer(4 * slots) : new ArrayBuffer(4 * slots))
        : slots;
  }

  /** The reporter of task `slot` (-1 or out of range: none). */
  reporter(slot: number | undefined): TaskReport {
    if (slot === undefined || !(slot >= 0 && slot < this.slots.length)) return noReport;
    return (fraction) => {
      const v = Math.round(SCALE * Math.min(Math.max(fraction, 0), 1));
      if (v > Atomics.load(this.slots, slot)) Atomics.store(this.slots, slot, v);
      this.onReport?.();
    };
  }

  /** The fraction done of task `slot`. */
  fraction(slot: number): number {
    return Atomics.load(this.slots, slot) / SCALE;
  }

  /** Sum over `weights` of weight x fraction done of slot `from + i`. */
  done(weights: Float64Array, from: number): number {
    let sum = 0;
    for (let i = 0; i < weights.length; i++) sum += weights[i] * this.fraction(from + i);
    return sum;
  }
}

/** A task's report of `(done, total)` of its epochs after a setup of `work.setup`. */
export function stagedReport(report: TaskReport, work: TaskWork) {
  const all = work.setup + work.epochs;
  return (done: number, total: number) => {
    if (all <= 0) return;
    if (done >= total) return report(1);
    report((work.setup + (total > 0 ? (work.epochs * done) / total : work.epochs)) / all);
  };
}
