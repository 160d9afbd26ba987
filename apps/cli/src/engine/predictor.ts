import {
  type AnnIndex,
  type AnnIndexKind,
  buildIndex,
  type IndexArrays,
  indexFromArrays,
} from "@annexml/ann-search";
import {
  type EmbeddingArrays,
  type EmbeddingModel,
  embeddingModelFromArrays,
} from "@annexml/embed";
import {
  type PartitionArrays,
  type PartitionModel,
  partitionModelFromArrays,
} from "@annexml/partition";
import {
  type CsrMatrix,
  IdLookup,
  type KnnResult,
  type LabelMatrix,
  TopK,
} from "@annexml/sparse-io";

/** One partition of one learner, as stored: its training rows, embedding and search index. */
export interface PartArrays {
  /** Global ids of the training rows in this partition, ascending. */
  rows: Int32Array;
  embedding: EmbeddingArrays;
  index: IndexArrays;
}

/** One learner, as stored. */
export interface LearnerArrays {
  partition: PartitionArrays;
  parts: PartArrays[];
}

/** Prediction settings (the predict-time parameters of the config). */
export interface PredictSettings {
  /** Learners used: the first `numLearners` of the model. */
  numLearners: number;
  /** Neighbours searched per learner (num_nn). */
  numNeighbours: number;
  /** `graph`: the stored search graphs; `bruteForce`: exact scans (`pred_type` 1 / 0). */
  search: AnnIndexKind;
  /** Exploration slack of the graph search. */
  searchEps: number;
  /** Labels returned per row (10, as the original). */
  topK: number;
}

/** Rows predicted together, learner by learner (enough to amortise a learner's cache misses). */
const BLOCK_ROWS = 256;

interface RuntimePart {
  rows: Int32Array;
  embedding: EmbeddingModel;
  search: AnnIndex;
}

/**
 * Predicts labels for feature rows: per learner, the row's partition, its
 * embedding there, its nearest training rows (graph or brute force); each
 * neighbour gets a vote; a label scores the votes of the neighbours that
 * have it; the `topK` best labels come out (ties to the lower label id).
 * Scratch buffers are allocated once per predictor: give each thread its own.
 */
export class Predictor {
  private readonly partitions: PartitionModel[];
  private readonly parts: (RuntimePart | null)[][];
  private readonly query: Float32Array;
  private readonly neighbourIds: Int32Array;
  private readonly neighbourScores: Float32Array;
  private readonly votes: Int32Array;
  private readonly votedRows: Int32Array;
  private readonly labelScores: Float64Array;
  private readonly scoredLabels: Int32Array;
  private readonly top: TopK;
  /** Neighbours per (row of the block, learner): `BLOCK_ROWS x learners x k` training rows. */
  private readonly found: Int32Array;
  /** Original feature id -> the model's dense id (models trained on sparse ids). */
  private readonly featureIds: IdLookup | null;
  /** The model's dense label id -> original id. */
  private readonly labelIds: Int32Array | null;
  /** A query row in dense feature ids (grown to the longest row seen). */
  private rowIndices = new Int32Array(64);
  private rowValues = new Float32Array(64);

  constructor(
    private readonly trainLabels: LabelMatrix,
    learners: readonly LearnerArrays[],
    private readonly settings: PredictSettings,
    ids: { features?: Int32Array; labels?: Int32Array } = {},
  ) {
    this.featureIds = ids.features ? new IdLookup(ids.features) : null;
    this.labelIds = ids.labels ?? null;
    const used = learners.slice(0, settings.numLearners);
    this.partitions = used.map((l) => partitionModelFromArrays(l.partition));
    let stride = 1;
    this.parts = used.map((l) =>
      l.parts.map((p) => {
        if (p.rows.length === 0) return null;
        const embedding = embeddingModelFromArrays(p.embedding);
        stride = Math.max(stride, embedding.stride);
        const vectors = embedding.embeddings;
        const search =
          settings.search === "graph"
            ? indexFromArrays(p.index, vectors, { reorder: false })
            : buildIndex("bruteForce", vectors, { metric: "cosine" });
        return { rows: p.rows, embedding, search };
      }),
    );
    this.query = new Float32Array(stride);
    const k = settings.numNeighbours;
    this.neighbourIds = new Int32Array(k);
    this.neighbourScores = new Float32Array(k);
    this.votes = new Int32Array(trainLabels.rows);
    this.votedRows = new Int32Array(used.length * k);
    this.labelScores = new Float64Array(trainLabels.cols);
    this.scoredLabels = new Int32Array(trainLabels.cols);
    this.top = new TopK(settings.topK);
    this.found = new Int32Array(BLOCK_ROWS * used.length * k);
  }

  /** Labels written per row. */
  get topK(): number {
    return this.settings.topK;
  }

  /**
   * Predicts rows `from .. to - 1` of `features` (rows must be
   * L2-normalised) into rows `0 .. to - from - 1` of `out`: `topK` labels
   * per row, best first, id -1 after the last label found.
   *
   * Learners are the outer loop, rows the inner one: each learner's indexes
   * stay in cache for a whole block of rows (twice as fast as row by row).
   * The neighbours found are kept per (row, learner), then voted per row.
   */
  predictInto(features: CsrMatrix, out: KnnResult, from = 0, to = features.rows): void {
    const { numNeighbours: k, topK } = this.settings;
    const learners = this.partitions.length;
    for (let block = from; block < to; block += BLOCK_ROWS) {
      const blockEnd = Math.min(to, block + BLOCK_ROWS);
      for (let l = 0; l < learners; l++) this.searchLearner(features, l, block, blockEnd);
      const found = this.found;
      const votes = this.votes;
      const voted = this.votedRows;
      for (let r = block; r < blockEnd; r++) {
        let votedCount = 0;
        const base = (r - block) * learners * k;
        for (let q = base; q < base + learners * k; q++) {
          const row = found[q];
          if (row >= 0 && votes[row]++ === 0) voted[votedCount++] = row;
        }
        const at = (r - from) * topK;
        const written = this.scoreLabels(voted, votedCount, out, at);
        out.ids.fill(-1, at + written, at + topK);
        out.scores.fill(0, at + written, at + topK);
      }
    }
  }

  /** Learner `l`'s neighbours (global training rows, -1 padded) of rows `from .. to - 1` into `found`. */
  private searchLearner(features: CsrMatrix, l: number, from: number, to: number): void {
    const { indptr, indices, values } = features;
    const { numNeighbours: k, searchEps: eps } = this.settings;
    const search = { eps };
    const learners = this.partitions.length;
    const partition = this.partitions[l];
    const parts = this.parts[l];
    const found = this.found;
    for (let r = from; r < to; r++) {
      const at = ((r - from) * learners + l) * k;
      let rowIndices = indices.subarray(indptr[r], indptr[r + 1]);
      let rowValues = values.subarray(indptr[r], indptr[r + 1]);
      if (this.featureIds) {
        const n = this.toDense(rowIndices, rowValues);
        rowIndices = this.rowIndices.subarray(0, n);
        rowValues = this.rowValues.subarray(0, n);
      }
      const part = parts[partition.assign(rowIndices, rowValues)];
      let count = 0;
      if (part) {
        part.embedding.embedInto(this.query, 0, rowIndices, rowValues, true);
        count = part.search.searchInto(
          this.query,
          k,
          this.neighbourIds,
          this.neighbourScores,
          0,
          search,
        );
        for (let j = 0; j < count; j++) found[at + j] = part.rows[this.neighbourIds[j]];
      }
      found.fill(-1, at + count, at + k);
    }
  }

  /** Label scores from the votes (then cleared), top labels into `out`; returns how many. */
  private scoreLabels(voted: Int32Array, count: number, out: KnnResult, at: number): number {
    const { indptr, indices } = this.trainLabels;
    const scores = this.labelScores;
    const scored = this.scoredLabels;
    let scoredCount = 0;
    for (let i = 0; i < count; i++) {
      const row = voted[i];
      const v = this.votes[row];
      this.votes[row] = 0;
      for (let p = indptr[row]; p < indptr[row + 1]; p++) {
        const label = indices[p];
        if (scores[label] === 0) scored[scoredCount++] = label;
        scores[label] += v;
      }
    }
    const top = this.top;
    top.reset();
    for (let i = 0; i < scoredCount; i++) {
      const label = scored[i];
      top.push(label, scores[label]);
      scores[label] = 0;
    }
    const written = top.drainSorted(out.ids, out.scores, at);
    const labelIds = this.labelIds;
    if (labelIds) for (let j = at; j < at + written; j++) out.ids[j] = labelIds[out.ids[j]];
    return written;
  }

  /**
   * Writes a query row in the model's dense feature ids into `rowIndices` /
   * `rowValues` and returns its length: features the training data never
   * held are dropped (as every stage ignores them anyway). The
   * row was normalised over all its features, as without the id map.
   */
  private toDense(indices: Int32Array, values: Float32Array): number {
    if (this.rowIndices.length < indices.length) {
      this.rowIndices = new Int32Array(indices.length * 2);
      this.rowValues = new Float32Array(indices.length * 2);
    }
    const lookup = this.featureIds as IdLookup;
    let n = 0;
    for (let p = 0; p < indices.length; p++) {
      const f = lookup.dense(indices[p]);
      if (f < 0) continue;
      this.rowIndices[n] = f;
      this.rowValues[n++] = values[p];
    }
    return n;
  }
}
