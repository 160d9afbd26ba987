import {
  type AnnIndex,
  type AnnIndexKind,
  buildIndex,
  type IndexArrays,
  indexFromArrays,
  SpaceArena,
} from "@annexml/ann-search";
import {
  type EmbeddingArrays,
  type EmbeddingModel,
  embeddingModelFromArrays,
} from "@annexml/embed";
import { inversePropensities } from "@annexml/eval";
import {
  type PartitionArrays,
  type PartitionModel,
  partitionModelFromArrays,
} from "@annexml/partition";
import {
  combineScore,
  type RerankerArrays,
  type RerankSettings,
  scoreShortlistImpl,
} from "@annexml/rerank";
import {
  AnnexmlError,
  type CsrMatrix,
  IdLookup,
  type KnnResult,
  type LabelMatrix,
  normalizeRows,
  TopK,
  type WasmMemory,
} from "@annexml/sparse-io";
import type { LabelNames } from "./label-names.js";
import { checkK } from "./options.js";

/**
 * Where a model's vectors and graphs live, for predictors on any thread
 * (structured-cloneable: post it to a worker with the model's arrays):
 * the shared WebAssembly memory, and per learner, per partition, whether
 * that partition's embeddings and edges are views of it (a compact model's
 * decoded arrays, or graphs rebuilt in memory, are not).
 */
export interface ModelMemory {
  memory: WasmMemory;
  resident: boolean[][];
  /**
   * Whether the resident partitions' vectors and edges were put in their
   * search indexes' leaf order (`AnnexmlModel.layOutForSearch`): the
   * layout a per-thread copy would have, so the search reads them as
   * fast; graph search only.
   */
  leafOrdered: boolean;
}

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
  /**
   * Voting (all optional; the defaults give one vote per neighbour found,
   * summed over the learners, as the original). See {@link VoteSettings}.
   */
  vote?: Partial<VoteSettings>;
  /**
   * Re-rank the vote's shortlist with the model's per-label scorers (see
   * `@annexml/rerank`); absent (or a model without a re-ranker): the vote's
   * order, as the original. A re-ranked row gets at most `shortlist` labels.
   */
  rerank?: RerankSettings;
  /**
   * Row `r` of a batch is training row `r`, left out of its own neighbours
   * (the leave-one-out shortlists a re-ranker is trained on).
   */
  leaveOneOut?: boolean;
}

/** How the neighbours found vote (the predict-time voting parameters). */
export interface VoteSettings {
  /**
   * A neighbour of cosine similarity `s` weighs `max(s, 0)^power *
   * exp(beta * (s - 1))`: `power` 0 and `beta` 0 (the defaults) give one
   * vote each; the weight is at most 1 (at `s = 1`).
   */
  power: number;
  /** See {@link power}: the softmax-like temperature of the weight (default 0). */
  beta: number;
  /** Each learner's weights divided by their `"sum"` or their `"max"`, or kept (`"none"`, the default). */
  learnerNorm: "none" | "sum" | "max";
  /**
   * A training row found by several learners: its weights summed (`"sum"`,
   * the default: one vote per learner that found it), or counted once with
   * their `"max"` or their `"mean"`.
   */
  merge: "sum" | "max" | "mean";
  /**
   * Label scores multiplied by `w_l^propensity`, `w_l` the label's inverse
   * propensity from the training label frequencies (Jain et al. 2016,
   * A = 0.55, B = 1.5, as `annexml eval`): favours rare labels (for PSP@k).
   * Default 0 (off).
   */
  propensity: number;
}

/** The voting of the original: one vote per neighbour, summed over learners. */
export const DEFAULT_VOTE_SETTINGS: Readonly<VoteSettings> = Object.freeze({
  power: 0,
  beta: 0,
  learnerNorm: "none",
  merge: "sum",
  propensity: 0,
});

/**
 * Decimals of the scores in a result file: 1 (the original's `%.1f`) for
 * integer votes, 6 for fractional ones (weighted, normalised, averaged or
 * propensity-scaled), which one decimal would tie, and a reader of the file
 * re-rank by label id.
 */
export function scoreDigits(vote: Partial<VoteSettings> = {}): number {
  const v = { ...DEFAULT_VOTE_SETTINGS, ...vote };
  const integer =
    v.power === 0 &&
    v.beta === 0 &&
    v.learnerNorm === "none" &&
    v.merge !== "mean" &&
    v.propensity === 0;
  return integer ? 1 : 6;
}

/** Rows predicted together, learner by learner (enough to amortise a learner's cache misses). */
const BLOCK_ROWS = 256;

const EMPTY_INDICES = new Int32Array(0);
const EMPTY_VALUES = new Float32Array(0);

/** The labels of one row, best first (see {@link Predictor.predictRow}). */
export interface RowPrediction {
  /** Label ids (the training file's ids), best first; fewer than `k` when fewer were found. */
  labels: Int32Array;
  /** Their scores (votes). */
  scores: Float32Array;
  /** Their names, when the model has label names. */
  names?: string[];
}

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
 * With a {@link ModelMemory}, the graph indexes of its resident partitions
 * read the vectors and edges in place there (their per-thread scratch
 * appended to that memory), so predictors on many threads hold one copy of
 * them; the predictions are the same either way, bit for bit.
 */
export class Predictor {
  private readonly partitions: PartitionModel[];
  private readonly parts: (RuntimePart | null)[][];
  private readonly query: Float32Array;
  private readonly neighbourIds: Int32Array;
  private readonly neighbourScores: Float32Array;
  /** Per training row: how many learners found it (0 = not yet this row). */
  private readonly votes: Int32Array;
  /** Per training row: its merged weight (sum or max of its learners' weights). */
  private readonly rowWeights: Float64Array;
  /** Neighbour similarities per (row of the block, learner), as `found`. */
  private readonly foundScores: Float32Array;
  /** One learner's neighbour weights (scratch). */
  private readonly weights: Float64Array;
  private readonly vote: VoteSettings;
  /** `w_l^propensity` per label, or null when off. */
  private readonly labelBoost: Float64Array | null;
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
  /** Names per dense label id, or null. */
  private readonly labelNames: LabelNames | null;
  /**
   * The block's rows in the model's dense feature ids, for every learner and
   * the re-ranker (see {@link fetchBlock}): row `r - block` is
   * `blockIndices[i] / blockValues[i]`, views of the features or, with a
   * feature id map, of `denseIndices / denseValues` (grown as needed).
   */
  private readonly blockIndices: Int32Array[] = [];
  private readonly blockValues: Float32Array[] = [];
  private denseIndices = new Int32Array(64);
  private denseValues = new Float32Array(64);
  /** The graph search's options (one object, not one per learner and block). */
  private readonly searchOptions: { eps: number };
  /** The re-ranker's scorers and settings, or null (vote order). */
  private readonly reranker: { arrays: RerankerArrays; settings: RerankSettings } | null;
  /** A row's vote shortlist (`shortlist` labels) and its scorers' margins. */
  private readonly shortlist: KnnResult;
  private readonly margins: Float32Array;
  /** The query row scattered densely over the model's features (re-ranking; zero between rows). */
  private readonly dense: Float32Array;
  /** {@link predictRow}'s one-row matrix and result (grown as needed). */
  private single: { features: CsrMatrix; out: KnnResult } | null = null;

  constructor(
    private readonly trainLabels: LabelMatrix,
    learners: readonly LearnerArrays[],
    private readonly settings: PredictSettings,
    ids: { features?: Int32Array; labels?: Int32Array; names?: LabelNames | null } = {},
    memory: ModelMemory | null = null,
    reranker: RerankerArrays | null = null,
  ) {
    this.featureIds = ids.features ? new IdLookup(ids.features) : null;
    this.labelIds = ids.labels ?? null;
    this.labelNames = ids.names ?? null;
    const used = learners.slice(0, settings.numLearners);
    this.partitions = used.map((l) => partitionModelFromArrays(l.partition));
    let stride = 1;
    const arena = memory ? new SpaceArena(memory.memory) : null;
    this.parts = used.map((l, li) =>
      l.parts.map((p, k) => {
        if (p.rows.length === 0) return null;
        const embedding = embeddingModelFromArrays(p.embedding);
        stride = Math.max(stride, embedding.stride);
        const vectors = embedding.embeddings;
        const resident = arena !== null && memory?.resident[li]?.[k] === true;
        const leafOrdered = resident && memory?.leafOrdered === true;
        if (leafOrdered && settings.search !== "graph") {
          throw new AnnexmlError(
            "BAD_OPTION",
            "this model was laid out for graph search (layOutForSearch): it cannot search by brute force",
          );
        }
        const search =
          settings.search === "graph"
            ? indexFromArrays(p.index, vectors, {
                reorder: false,
                arena: resident ? arena : undefined,
                leafOrdered,
              })
            : buildIndex("bruteForce", vectors, { metric: "cosine" });
        return { rows: p.rows, embedding, search };
      }),
    );
    this.query = new Float32Array(stride);
    this.searchOptions = { eps: settings.searchEps };
    const k = settings.numNeighbours;
    // Leave-one-out searches one more: the row itself is among them.
    this.neighbourIds = new Int32Array(k + 1);
    this.neighbourScores = new Float32Array(k + 1);
    this.votes = new Int32Array(trainLabels.rows);
    this.rowWeights = new Float64Array(trainLabels.rows);
    this.weights = new Float64Array(k);
    this.vote = { ...DEFAULT_VOTE_SETTINGS, ...settings.vote };
    this.labelBoost = null;
    if (this.vote.propensity !== 0 && trainLabels.rows > 0) {
      const w = inversePropensities(trainLabels).weights;
      const boost = new Float64Array(trainLabels.cols);
      for (let l = 0; l < boost.length; l++) boost[l] = w[l] ** this.vote.propensity;
      this.labelBoost = boost;
    }
    this.votedRows = new Int32Array(used.length * k);
    this.labelScores = new Float64Array(trainLabels.cols);
    this.scoredLabels = new Int32Array(trainLabels.cols);
    this.top = new TopK(settings.topK);
    this.found = new Int32Array(BLOCK_ROWS * used.length * k);
    this.foundScores = new Float32Array(BLOCK_ROWS * used.length * k);
    const rerank = settings.rerank;
    this.reranker =
      reranker && rerank && rerank.weight > 0 ? { arrays: reranker, settings: rerank } : null;
    const c = this.reranker ? this.reranker.settings.shortlist : 0;
    this.shortlist = { rows: 1, k: c, ids: new Int32Array(c), scores: new Float32Array(c) };
    this.margins = new Float32Array(c);
    this.dense = new Float32Array(this.reranker ? this.reranker.arrays.features : 0);
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
    this.predictRows(features, out, from, to, this.settings.topK, true);
  }

  /**
   * The `k` best labels (default `topK`) of one raw sparse row: `indices`
   * the feature ids (ascending, unique, non-negative integers), `values`
   * their values (finite), normalised here on a copy exactly as
   * {@link predictInto}'s callers normalise a batch, so a row gets the same
   * labels and scores either way. Reuses this predictor's scratch: nothing
   * is rebuilt per call. Throws `AnnexmlError` `BAD_INPUT` naming the
   * position of a bad index or value.
   */
  predictRow(
    indices: ArrayLike<number>,
    values: ArrayLike<number>,
    k: number = this.settings.topK,
  ): RowPrediction {
    checkK(k, "predictRow");
    const n = indices?.length;
    if (typeof n !== "number" || values?.length !== n) {
      throw new AnnexmlError(
        "BAD_INPUT",
        `predictRow needs indices and values of the same length, but has ${String(n)} and ${String(values?.length)}`,
      );
    }
    const single = this.singleRow(n, k);
    const { features, out } = single;
    for (let p = 0; p < n; p++) {
      const f = indices[p];
      const v = values[p];
      if (!Number.isInteger(f) || f < 0 || f > 0x7fffffff || (p > 0 && f <= indices[p - 1])) {
        throw new AnnexmlError(
          "BAD_INPUT",
          `predictRow: feature index ${String(f)} at position ${p} must be a non-negative integer greater than the one before`,
        );
      }
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new AnnexmlError(
          "BAD_INPUT",
          `predictRow: value ${String(v)} at position ${p} must be a finite number`,
        );
      }
      features.indices[p] = f;
      features.values[p] = v;
    }
    features.indptr[1] = n;
    normalizeRows(features);
    const written = this.predictRows(features, out, 0, 1, k, false);
    const labels = out.ids.slice(0, written);
    const result: RowPrediction = { labels, scores: out.scores.slice(0, written) };
    if (this.labelNames) {
      const names = this.labelNames;
      result.names = Array.from(labels, (dense) => names.name(dense));
    }
    const labelIds = this.labelIds;
    if (labelIds) for (let j = 0; j < written; j++) labels[j] = labelIds[labels[j]];
    return result;
  }

  /** {@link predictRow}'s scratch for a row of `n` features and `k` labels. */
  private singleRow(n: number, k: number): { features: CsrMatrix; out: KnnResult } {
    let single = this.single;
    if (!single || single.features.indices.length < n || single.out.k < k) {
      const capacity = Math.max(n, single?.features.indices.length ?? 0, 16);
      const kk = Math.max(k, single?.out.k ?? 0);
      single = {
        features: {
          rows: 1,
          cols: 0x7fffffff,
          indptr: new Int32Array(2),
          indices: new Int32Array(capacity),
          values: new Float32Array(capacity),
        },
        out: { rows: 1, k: kk, ids: new Int32Array(kk), scores: new Float32Array(kk) },
      };
      this.single = single;
    }
    return single;
  }

  /**
   * Rows `from .. to - 1` into `out` (`k` labels per row from row 0); the
   * label ids mapped to the original ones when `mapIds`. Returns how many
   * labels the last row got.
   */
  private predictRows(
    features: CsrMatrix,
    out: KnnResult,
    from: number,
    to: number,
    topK: number,
    mapIds: boolean,
  ): number {
    const { numNeighbours: k } = this.settings;
    const learners = this.partitions.length;
    const labelIds = mapIds ? this.labelIds : null;
    let written = 0;
    for (let block = from; block < to; block += BLOCK_ROWS) {
      const blockEnd = Math.min(to, block + BLOCK_ROWS);
      this.fetchBlock(features, block, blockEnd);
      for (let l = 0; l < learners; l++) this.searchLearner(l, block, blockEnd);
      for (let r = block; r < blockEnd; r++) {
        const votedCount = this.voteRow((r - block) * learners * k, learners);
        const at = (r - from) * topK;
        written = this.reranker
          ? this.rerankRow(r - block, votedCount, out, at, topK)
          : this.scoreLabels(this.votedRows, votedCount, out, at, topK);
        if (labelIds) for (let j = at; j < at + written; j++) out.ids[j] = labelIds[out.ids[j]];
        out.ids.fill(-1, at + written, at + topK);
        out.scores.fill(0, at + written, at + topK);
      }
      // Views of the caller's rows: not kept past the call.
      this.blockIndices.fill(EMPTY_INDICES, 0, blockEnd - block);
      this.blockValues.fill(EMPTY_VALUES, 0, blockEnd - block);
    }
    return written;
  }

  /**
   * Votes of one row's neighbours (`learners x k` from `base` of `found`):
   * each learner's weights (normalised per learner if asked), merged per
   * training row into `rowWeights`; the rows voted for go to `votedRows`.
   * Returns how many. One vote per neighbour by default, summed: integer
   * sums, exactly as the original.
   */
  private voteRow(base: number, learners: number): number {
    const { numNeighbours: k } = this.settings;
    const { power, beta, learnerNorm, merge } = this.vote;
    const weighted = power !== 0 || beta !== 0;
    const found = this.found;
    const foundScores = this.foundScores;
    const votes = this.votes;
    const rowWeights = this.rowWeights;
    const voted = this.votedRows;
    const weights = this.weights;
    let votedCount = 0;
    for (let l = 0; l < learners; l++) {
      const at = base + l * k;
      let count = 0;
      while (count < k && found[at + count] >= 0) count++;
      if (count === 0) continue;
      let total = 0;
      let top = 0;
      for (let j = 0; j < count; j++) {
        let w = 1;
        if (weighted) {
          const sim = foundScores[at + j];
          w = Math.max(sim, 0) ** power * Math.exp(beta * (sim - 1));
        }
        weights[j] = w;
        total += w;
        if (w > top) top = w;
      }
      const scale =
        learnerNorm === "sum"
          ? total > 0
            ? 1 / total
            : 0
          : learnerNorm === "max"
            ? top > 0
              ? 1 / top
              : 0
            : 1;
      for (let j = 0; j < count; j++) {
        const row = found[at + j];
        const w = scale === 1 ? weights[j] : weights[j] * scale;
        if (votes[row]++ === 0) {
          voted[votedCount++] = row;
          rowWeights[row] = w;
        } else if (merge === "max") {
          if (w > rowWeights[row]) rowWeights[row] = w;
        } else {
          rowWeights[row] += w;
        }
      }
    }
    if (merge === "mean")
      for (let i = 0; i < votedCount; i++) rowWeights[voted[i]] /= votes[voted[i]];
    return votedCount;
  }

  /**
   * Row `i` of the block's labels re-ranked: the vote's `shortlist` best,
   * each scored by its scorer on the row and combined with its vote
   * ({@link combineScore}); the `k` best into `out` from `at` (ties to the
   * lower label id). Returns how many.
   */
  private rerankRow(i: number, votedCount: number, out: KnnResult, at: number, k: number): number {
    const { arrays, settings } = this.reranker as NonNullable<Predictor["reranker"]>;
    const { ids, scores: votes } = this.shortlist;
    const count = this.scoreLabels(
      this.votedRows,
      votedCount,
      this.shortlist,
      0,
      settings.shortlist,
    );
    if (count === 0) return 0;
    const rowIndices = this.blockIndices[i];
    const rowValues = this.blockValues[i];
    const x = this.dense;
    for (let p = 0; p < rowIndices.length; p++) x[rowIndices[p]] = rowValues[p];
    scoreShortlistImpl(arrays, x, ids, 0, count, this.margins);
    for (let p = 0; p < rowIndices.length; p++) x[rowIndices[p]] = 0;
    const top = this.top;
    top.reset(k);
    const best = votes[0];
    for (let j = 0; j < count; j++)
      top.push(ids[j], combineScore(votes[j], best, this.margins[j], settings.weight));
    return top.drainSorted(out.ids, out.scores, at);
  }

  /**
   * Learner `l`'s neighbours (global training rows, -1 padded) of the
   * fetched rows `from .. to - 1` into `found`.
   */
  private searchLearner(l: number, from: number, to: number): void {
    const { numNeighbours: k } = this.settings;
    const leaveOneOut = this.settings.leaveOneOut === true;
    const search = this.searchOptions;
    const learners = this.partitions.length;
    const partition = this.partitions[l];
    const parts = this.parts[l];
    const found = this.found;
    const foundScores = this.foundScores;
    for (let r = from; r < to; r++) {
      const at = ((r - from) * learners + l) * k;
      const rowIndices = this.blockIndices[r - from];
      const rowValues = this.blockValues[r - from];
      const part = parts[partition.assign(rowIndices, rowValues)];
      let count = 0;
      if (part) {
        // A lone row finds every learner's weights out of cache.
        part.embedding.embedInto(this.query, 0, rowIndices, rowValues, true, to - from === 1);
        const searched = part.search.searchInto(
          this.query,
          leaveOneOut ? k + 1 : k,
          this.neighbourIds,
          this.neighbourScores,
          0,
          search,
        );
        for (let j = 0; j < searched && count < k; j++) {
          const row = part.rows[this.neighbourIds[j]];
          if (leaveOneOut && row === r) continue;
          found[at + count] = row;
          foundScores[at + count++] = this.neighbourScores[j];
        }
      }
      found.fill(-1, at + count, at + k);
    }
  }

  /**
   * Label scores from the votes (then cleared), the `k` top labels (dense
   * ids) into `out` from `at`; returns how many.
   */
  private scoreLabels(
    voted: Int32Array,
    count: number,
    out: KnnResult,
    at: number,
    k: number,
  ): number {
    const { indptr, indices } = this.trainLabels;
    const scores = this.labelScores;
    const scored = this.scoredLabels;
    let scoredCount = 0;
    for (let i = 0; i < count; i++) {
      const row = voted[i];
      const v = this.rowWeights[row];
      this.votes[row] = 0;
      // A zero weight (a similarity <= 0 with vote_power > 0) is no vote.
      if (v === 0) continue;
      for (let p = indptr[row]; p < indptr[row + 1]; p++) {
        const label = indices[p];
        if (scores[label] === 0) scored[scoredCount++] = label;
        scores[label] += v;
      }
    }
    const top = this.top;
    top.reset(k);
    const boost = this.labelBoost;
    for (let i = 0; i < scoredCount; i++) {
      const label = scored[i];
      top.push(label, boost ? scores[label] * boost[label] : scores[label]);
      scores[label] = 0;
    }
    return top.drainSorted(out.ids, out.scores, at);
  }

  /**
   * Rows `from .. to - 1` of `features` as `blockIndices / blockValues`,
   * fetched once per block for every learner (and the re-ranker): in the
   * model's dense feature ids when it has an id map, features the training
   * data never held dropped (as every stage ignores them anyway; the row
   * was normalised over all its features, as without the id map).
   */
  private fetchBlock(features: CsrMatrix, from: number, to: number): void {
    const { indptr, indices, values } = features;
    const rowIndices = this.blockIndices;
    const rowValues = this.blockValues;
    const lookup = this.featureIds;
    if (!lookup) {
      for (let r = from; r < to; r++) {
        rowIndices[r - from] = indices.subarray(indptr[r], indptr[r + 1]);
        rowValues[r - from] = values.subarray(indptr[r], indptr[r + 1]);
      }
      return;
    }
    const nnz = indptr[to] - indptr[from];
    if (this.denseIndices.length < nnz) {
      this.denseIndices = new Int32Array(nnz * 2);
      this.denseValues = new Float32Array(nnz * 2);
    }
    const denseIndices = this.denseIndices;
    const denseValues = this.denseValues;
    let n = 0;
    for (let r = from; r < to; r++) {
      const start = n;
      for (let p = indptr[r]; p < indptr[r + 1]; p++) {
        const f = lookup.dense(indices[p]);
        if (f < 0) continue;
        denseIndices[n] = f;
        denseValues[n++] = values[p];
      }
      rowIndices[r - from] = denseIndices.subarray(start, n);
      rowValues[r - from] = denseValues.subarray(start, n);
    }
  }
}
