import { toLeafOrder } from "@annexml/ann-search";
import {
  checkRerankerArrays,
  DEFAULT_RERANK_SETTINGS,
  type RerankerArrays,
  type RerankSettings,
  validateRerankSettings,
} from "@annexml/rerank";
import {
  AnnexmlError,
  type CsrMatrix,
  IdLookup,
  type KnnResult,
  type LabelMatrix,
  normalizeRows,
  validateCsr,
  type WasmMemory,
} from "@annexml/sparse-io";
import type { Compact } from "./compact.js";
import { normalizeDenseRows } from "./compact.js";
import type { Crc32 } from "./crc32.js";
import { type Container, encodeContainer, parseContainer, type SectionSpec } from "./format.js";
import { type LabelNames, labelNamesFromArrays } from "./label-names.js";
import { ModelEncoder, partOrder } from "./model-encoder.js";
import { type PredictOptions, type TrainingParams, validatePredictOptions } from "./options.js";
import { unpack } from "./pack.js";
import {
  DEFAULT_VOTE_SETTINGS,
  type LearnerArrays,
  type ModelMemory,
  Predictor,
  type PredictSettings,
} from "./predictor.js";
import { learnerIdsOf } from "./shards.js";

/** The training parameters a model keeps: one definition, in `./options.ts`. */
export { TRAINING_PARAM_NAMES, type TrainingParams } from "./options.js";

/** What a model file's JSON header holds besides the array layout. */
export interface ModelInfo {
  /** `annexml-ts` for models we trained, `annexml-cpp` for imported ones. */
  origin: "annexml-ts" | "annexml-cpp";
  params: TrainingParams;
  /**
   * The training data: its name and sizes. `features` / `labels` are the
   * file's id ranges (largest id + 1); `usedFeatures` / `usedLabels` (models
   * of format 2 on) the distinct ids the rows hold, which is what the model
   * stores (see {@link ModelIds}).
   */
  data: {
    file: string;
    rows: number;
    features: number;
    labels: number;
    nnz: number;
    usedFeatures?: number;
    usedLabels?: number;
    /**
     * CRC-32 of the training rows (ids renumbered, before normalising),
     * as 8 hex digits: shards of one run must have the same (models from 0.x on).
     */
    fingerprint?: string;
  };
  /** Partitions per learner and their sizes, training P@1..5 when measured. */
  stats: {
    partitions: number[];
    partitionSizes: number[][];
    partitionObjectives?: number[][];
    trainPrecision?: number[][];
  };
  /** Versions of the packages that wrote the model. */
  versions: Record<string, string>;
  /** Free-form notes (e.g. how an imported model's quirks are reproduced). */
  notes?: string[];
  /**
   * A learner shard (`learners=...` at training) holds only these learners
   * of the run's `num_learner` (ascending; the stats are theirs, in this
   * order); `annexml merge` joins shards. Absent: learners 0 .. n - 1.
   */
  shard?: { learners: number[] };
}

interface ModelMeta extends ModelInfo {
  arrays: unknown;
}

/**
 * Options of {@link AnnexmlModel.predict}: `k` (labels per row, default 10),
 * `numLearners` (the first learners used, default all), `numNeighbours`
 * (per learner, default the model's), `search` (`"graph"`, the default, or
 * `"bruteForce"`), `searchEps` (graph exploration slack, default 0), and
 * the voting: `votePower`, `voteBeta`, `learnerNorm`, `voteMerge`,
 * `votePropensity` (see `PREDICT_OPTIONS` in options.ts; the defaults vote as the original).
 */
export type ModelPredictOptions = PredictOptions;

/**
 * The original ids of a model trained on sparse ids: the model works on
 * dense ids `0 .. n - 1` (so memory follows the ids in use, not their
 * values), `features[dense]` / `labels[dense]` give the original ones.
 * Absent when the training data used every id below its largest.
 */
export interface ModelIds {
  features?: Int32Array;
  labels?: Int32Array;
}

/** A model read from bytes, with what its container held. */
export interface DecodedModel {
  model: AnnexmlModel;
  fileBytes: number;
  sections: number;
  /** Sections per stored type (`i8` scales counted as `f32`). */
  storage: Record<string, number>;
}

/** Options of {@link AnnexmlModel.fromBytes}. */
export interface FromBytesOptions {
  /** Names the model in error messages (a file path, a URL); default `"model"`. */
  source?: string;
  /** A faster CRC-32 than the portable one (the CLI passes zlib's). */
  crc32?: Crc32;
  /**
   * The shared WebAssembly memory `bytes` lies in (`bytes.buffer` is its
   * buffer, `bytes.byteOffset` the file's address there), e.g. a file read
   * straight into one: the search indexes of every predictor then read the
   * stored vectors and graphs where they are, so any number of threads
   * share the one copy (see {@link AnnexmlModel.modelMemory}).
   */
  memory?: WasmMemory;
}

/**
 * A trained AnnexML model: the training label sets, and per learner its
 * partitioner and, per partition, the training rows, embedding model and
 * search graph; optionally label names. Bytes in ({@link fromBytes}) and
 * bytes out ({@link toBytes}) in the versioned container of
 * `docs/MODEL_FORMAT.md`, in any JavaScript runtime: no `node:` import
 * (the CLI's `loadModel` / `saveModel` read and write files).
 */
export class AnnexmlModel {
  /**
   * How {@link toBytes} stores the projection weights and unit embeddings by
   * default: `"none"` (float32), `"f16"` or `"int8"` (see {@link Compact}).
   * A loaded model keeps its file's storage; `train`'s `compact` sets it.
   */
  compact: Compact = "none";
  /** The last predictor {@link predict} built, by its settings. */
  private cached: { key: string; predictor: Predictor } | null = null;
  private labelLookup: IdLookup | null = null;
  /** The memory the file was read into, its buffer as the sections see it, and whether {@link layOutForSearch} ran. */
  private home: { memory: WasmMemory; buffer: ArrayBufferLike; leafOrdered: boolean } | null = null;

  constructor(
    readonly info: ModelInfo,
    readonly trainLabels: LabelMatrix,
    readonly learners: LearnerArrays[],
    readonly ids: ModelIds = {},
    /** Names of the labels (by the model's dense label ids), or null. */
    readonly labelNames: LabelNames | null = null,
    /**
     * The optional label re-ranker (`rerank=1` at training): per-label
     * scorers over the model's dense feature ids, or null.
     */
    readonly reranker: RerankerArrays | null = null,
  ) {
    if (labelNames && labelNames.count !== trainLabels.cols) {
      throw new AnnexmlError(
        "BAD_INPUT",
        `${labelNames.count} label names for a model of ${trainLabels.cols} labels`,
      );
    }
  }

  /** Number of learners stored. */
  get numLearners(): number {
    return this.learners.length;
  }

  /**
   * The name of a label (its id in the training file), or undefined when
   * the model has no names or no such label.
   */
  labelName(label: number): string | undefined {
    const names = this.labelNames;
    if (!names) return undefined;
    if (this.ids.labels) this.labelLookup ??= new IdLookup(this.ids.labels);
    const dense = this.labelLookup ? this.labelLookup.dense(label) : label;
    return dense >= 0 && dense < names.count ? names.name(dense) : undefined;
  }

  /**
   * The container's meta data and sections for `compact` storage (default
   * {@link compact}), in file order: what {@link toBytes} encodes, and what
   * a file writer streams. `compact`: `"f16"` stores every partition's
   * projection weights and unit embeddings as float16, `"int8"` as int8
   * with one scale per row; either also stores the search graphs' edges
   * and leaf rows as u16 when a partition has fewer than 65535 rows.
   * Loading decodes them to float32 once (embeddings re-normalised).
   */
  encode(options: { compact?: Compact } = {}): { meta: unknown; sections: readonly SectionSpec[] } {
    if (this.home?.leafOrdered) {
      throw new AnnexmlError(
        "BAD_OPTION",
        "this model was laid out for graph search (layOutForSearch): it cannot be saved",
      );
    }
    const encoder = new ModelEncoder(options.compact ?? this.compact);
    const sections: SectionSpec[] = [...encoder.head(this.trainLabels, this.ids, this.labelNames)];
    // A shard's learners are stored under their ids in the run.
    const ids = learnerIdsOf(this.info, this.learners.length);
    this.learners.forEach((learner, i) => {
      sections.push(...encoder.partition(ids[i], learner.partition));
    });
    const sizes = this.learners.map((learner) => learner.parts.map((p) => p.rows.length));
    for (const [i, k] of partOrder(sizes))
      sections.push(...encoder.part(ids[i], k, this.learners[i].parts[k]));
    if (this.reranker) sections.push(...encoder.reranker(this.reranker));
    return { meta: encoder.meta(this.info), sections };
  }

  /** The model file's bytes (see {@link encode} for `compact`). */
  toBytes(options: { compact?: Compact; crc32?: Crc32 } = {}): Uint8Array {
    const { meta, sections } = this.encode(options);
    return encodeContainer(meta, sections, options.crc32);
  }

  /**
   * Reads a model from the bytes of a model file, refusing truncated or
   * corrupted bytes (every CRC is checked), a newer format, or bytes that
   * are not a model (`AnnexmlError` `BAD_FORMAT`). The arrays are views of
   * `bytes`'s buffer where no decoding is needed (a SharedArrayBuffer is
   * kept shared): do not reuse the bytes for something else.
   */
  static fromBytes(bytes: Uint8Array | ArrayBuffer, options: FromBytesOptions = {}): AnnexmlModel {
    return AnnexmlModel.decode(bytes, options).model;
  }

  /** {@link fromBytes}, with what the container held (size, sections, storage types). */
  static decode(bytes: Uint8Array | ArrayBuffer, options: FromBytesOptions = {}): DecodedModel {
    const source = options.source ?? "model";
    // `new Uint8Array(x)` accepts a number or an array too: only bytes are bytes.
    const buffer =
      bytes instanceof ArrayBuffer ||
      (typeof SharedArrayBuffer !== "undefined" && bytes instanceof SharedArrayBuffer);
    if (!(bytes instanceof Uint8Array) && !buffer)
      throw new AnnexmlError("BAD_OPTION", "fromBytes needs a Uint8Array or an ArrayBuffer");
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const decoded = AnnexmlModel.fromContainer(
      parseContainer<ModelMeta>(view, source, options.crc32),
      source,
    );
    if (options.memory)
      decoded.model.home = { memory: options.memory, buffer: view.buffer, leafOrdered: false };
    return decoded;
  }

  /**
   * The shared memory the model's vectors and graphs were read into (see
   * {@link FromBytesOptions.memory}), with the partitions whose arrays are
   * still views of it; null when the model was not read into one. Pass it
   * to predictors on other threads.
   */
  modelMemory(): ModelMemory | null {
    const home = this.home;
    if (home === null) return null;
    const resident = this.learners.map((learner) =>
      learner.parts.map(
        (p) =>
          p.embedding.embeddings.buffer === home.buffer && p.index.edges.buffer === home.buffer,
      ),
    );
    return { memory: home.memory, resident, leafOrdered: home.leafOrdered };
  }

  /**
   * Puts the vectors and edges of every partition resident in the model's
   * memory (see {@link modelMemory}) in their search index's leaf order,
   * in place: the layout each thread's index would otherwise copy them
   * into (rows a query explores lie together), made once for all threads.
   * Predictions stay the same, bit for bit. Afterwards the model is for
   * graph search only: its embeddings and edges are no longer in the order
   * of its rows, so {@link encode} / {@link toBytes} and brute-force
   * predictors refuse it (`BAD_OPTION`), and nothing else may read those
   * arrays (rebuild graphs before, not after). Does nothing without a
   * memory, or when done already.
   */
  layOutForSearch(): void {
    const home = this.home;
    const memory = this.modelMemory();
    if (home === null || memory === null || home.leafOrdered) return;
    this.learners.forEach((learner, l) => {
      learner.parts.forEach((part, k) => {
        if (!memory.resident[l][k] || part.rows.length === 0) return;
        const e = part.embedding;
        toLeafOrder(part.index, {
          rows: e.rows,
          cols: e.embSize,
          stride: e.stride,
          data: e.embeddings,
        });
      });
    });
    home.leafOrdered = true;
  }

  /** A model from a parsed container (see {@link decode}). */
  static fromContainer(container: Container<unknown>, source = "model"): DecodedModel {
    const meta = container.meta as ModelMeta;
    try {
      if (meta === null || typeof meta !== "object") throw new Error("no model meta data");
      const { arrays, ...info } = meta;
      const model = AnnexmlModel.fromParts(info, unpack(arrays, container.sections));
      model.compact = compactOf(container.stored);
      // Compact embeddings are near unit length only: make them unit again
      // (before the search indexes check it).
      const learnerIds = learnerIdsOf(info, model.learners.length);
      model.learners.forEach((learner, i) => {
        learner.parts.forEach((part, k) => {
          const name = `m.learners.${learnerIds[i]}.parts.${k}.embedding.embeddings`;
          const type = container.stored.get(name);
          if (type === "f16" || type === "i8")
            normalizeDenseRows(part.embedding.embeddings, part.embedding.stride);
        });
      });
      const storage: Record<string, number> = {};
      for (const type of container.stored.values()) storage[type] = (storage[type] ?? 0) + 1;
      // Each i8 section has its f32 `.scale` sibling in the file.
      if (storage.i8) storage.f32 = (storage.f32 ?? 0) + storage.i8;
      return {
        model,
        fileBytes: container.fileBytes,
        sections: container.sections.size + (storage.i8 ?? 0),
        storage,
      };
    } catch (error) {
      throw new AnnexmlError("BAD_FORMAT", `inconsistent model: ${(error as Error).message}`, {
        file: source,
      });
    }
  }

  /** Rebuilds a model from unpacked arrays (the shape {@link encode} writes). */
  static fromParts(info: ModelInfo, arrays: unknown): AnnexmlModel {
    const a = arrays as {
      trainLabels: LabelMatrix;
      ids?: ModelIds;
      labelNames?: { bytes: Uint8Array; offsets: Int32Array };
      reranker?: RerankerArrays;
      learners: Record<
        string,
        {
          partition: LearnerArrays["partition"];
          parts: Record<string, LearnerArrays["parts"][number]>;
        }
      >;
    };
    validateCsr(a.trainLabels, "training labels");
    // The predictor keeps 12 bytes of scratch per label: a label count the
    // label sets cannot justify (only a crafted file has one) is refused
    // before it is allocated. Format 2 models use every label (dense ids);
    // format 1 and imports may list some unused ones.
    const labelEntries = a.trainLabels.indptr[a.trainLabels.rows];
    if (a.trainLabels.cols > labelEntries + MAX_UNUSED_LABELS) {
      throw new Error(
        `${a.trainLabels.cols} labels for ${labelEntries} label entries of the training rows`,
      );
    }
    const learners: LearnerArrays[] = [];
    // A shard's learners keep their ids in the run (see `ModelInfo.shard`).
    const shard = info.shard?.learners;
    if (
      shard !== undefined &&
      !(
        Array.isArray(shard) &&
        shard.every((l, i) => Number.isSafeInteger(l) && l >= (i ? shard[i - 1] + 1 : 0))
      )
    )
      throw new Error("the shard's learner ids must be ascending integers >= 0");
    const learnerIds = shard ?? Object.keys(a.learners).map((_, l) => l);
    if (learnerIds.length !== Object.keys(a.learners).length)
      throw new Error(
        `${Object.keys(a.learners).length} learners, the info lists ${learnerIds.length}`,
      );
    for (const l of learnerIds) {
      const learner = Object.hasOwn(a.learners, String(l)) ? a.learners[String(l)] : undefined;
      if (!learner) throw new Error(`learner ${l} is missing`);
      const parts: LearnerArrays["parts"] = [];
      for (let k = 0; k < Object.keys(learner.parts).length; k++)
        parts.push(learner.parts[String(k)]);
      if (parts.length !== learner.partition.k) {
        throw new Error(
          `learner ${l} has ${parts.length} partitions but its partitioner has ${learner.partition.k}`,
        );
      }
      for (const part of parts) {
        for (const row of part.rows) {
          if (!(row >= 0 && row < a.trainLabels.rows))
            throw new Error(`learner ${l}: training row ${row} out of range`);
        }
      }
      learners.push({ partition: learner.partition, parts });
    }
    const ids = a.ids ?? {};
    checkIds(ids.labels, a.trainLabels.cols, "label");
    checkIds(ids.features, ids.features?.length ?? 0, "feature");
    const names = a.labelNames ? labelNamesFromArrays(a.labelNames, a.trainLabels.cols) : null;
    if (a.reranker) checkRerankerArrays(a.reranker, a.trainLabels.cols);
    return new AnnexmlModel(info, a.trainLabels, learners, ids, names, a.reranker ?? null);
  }

  /**
   * The full prediction settings for these options (defaults filled in,
   * `numLearners` capped at the model's). Throws `AnnexmlError` `BAD_OPTION`
   * naming a bad or unknown option.
   */
  predictSettings(options: ModelPredictOptions = {}): PredictSettings {
    const o = validatePredictOptions(options);
    return {
      numLearners: Math.min(o.numLearners ?? this.numLearners, this.numLearners),
      numNeighbours: o.numNeighbours ?? this.info.params.num_nn,
      search: o.search ?? "graph",
      searchEps: o.searchEps ?? 0,
      topK: o.k ?? 10,
      vote: {
        power: o.votePower ?? DEFAULT_VOTE_SETTINGS.power,
        beta: o.voteBeta ?? DEFAULT_VOTE_SETTINGS.beta,
        learnerNorm: o.learnerNorm ?? DEFAULT_VOTE_SETTINGS.learnerNorm,
        merge: o.voteMerge ?? DEFAULT_VOTE_SETTINGS.merge,
        propensity: o.votePropensity ?? DEFAULT_VOTE_SETTINGS.propensity,
      },
      // Checked with or without a re-ranker; used only with one (weight > 0).
      ...rerankOf(this.reranker, o.rerankWeight, o.rerankShortlist),
    };
  }

  /**
   * A predictor for these options, built once (every partition's index set
   * up) and reused: `predictor.predictRow(indices, values, k)` for one row,
   * `predictor.predictInto(rows, out)` for normalised batches. It holds its
   * own scratch: one per thread. `memory`: where its indexes read the
   * vectors and graphs in place (default the model's own
   * {@link modelMemory}; a worker thread passes the one it was sent).
   */
  predictor(
    options: ModelPredictOptions = {},
    memory: ModelMemory | null = this.modelMemory(),
  ): Predictor {
    return new Predictor(
      this.trainLabels,
      this.learners,
      this.predictSettings(options),
      { ...this.ids, names: this.labelNames },
      memory,
      this.reranker,
    );
  }

  /**
   * Predicts the top-k labels of raw feature rows (normalised here, on a
   * copy): `ids[r * k + j]` is the j-th label of row r (-1 when fewer were
   * found), `scores` its votes. Single-threaded; the predictor is built on
   * the first call and reused while the options stay the same. The CLI's
   * `predict` command spreads rows over worker threads.
   */
  predict(rows: CsrMatrix, options: ModelPredictOptions = {}): KnnResult {
    const settings = this.predictSettings(options);
    const key = JSON.stringify(settings);
    if (this.cached?.key !== key) this.cached = { key, predictor: this.predictor(options) };
    const predictor = this.cached.predictor;
    const k = predictor.topK;
    const features = normalizeRows({ ...rows, values: rows.values.slice() });
    const out: KnnResult = {
      rows: rows.rows,
      k,
      ids: new Int32Array(rows.rows * k),
      scores: new Float32Array(rows.rows * k),
    };
    predictor.predictInto(features, out);
    return out;
  }
}

/** The re-ranking settings of {@link AnnexmlModel.predictSettings}: none without a re-ranker or at weight 0. */
function rerankOf(
  reranker: RerankerArrays | null,
  weight: number | undefined,
  shortlist: number | undefined,
): { rerank?: RerankSettings } {
  const rerank = validateRerankSettings({
    weight: weight ?? DEFAULT_RERANK_SETTINGS.weight,
    shortlist: shortlist ?? DEFAULT_RERANK_SETTINGS.shortlist,
  });
  return reranker && rerank.weight > 0 ? { rerank } : {};
}

/** Labels a model may list beyond those its training rows hold (format 1 files, imports). */
const MAX_UNUSED_LABELS = 1 << 24;

const PART_SECTION = /^m\.learners\.(\d+)\.parts\.(\d+)(\..+)$/;

/** The compact storage of a loaded model's sections (`"none"` when none is compact). */
function compactOf(stored: ReadonlyMap<string, string>): Compact {
  for (const [name, type] of stored) {
    if (!PART_SECTION.test(name)) continue;
    if (type === "f16") return "f16";
    if (type === "i8") return "int8";
  }
  return "none";
}

/** A stored id list must be ascending and unique, one id per dense id. */
function checkIds(ids: Int32Array | undefined, expected: number, what: string): void {
  if (!ids) return;
  if (ids.length !== expected)
    throw new Error(`${ids.length} original ${what} ids for ${expected} ${what}s`);
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0) || (i > 0 && ids[i] <= ids[i - 1]))
      throw new Error(`original ${what} ids are not ascending at ${i}`);
  }
}
