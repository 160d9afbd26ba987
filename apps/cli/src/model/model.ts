import { createRequire } from "node:module";
import {
  AnnexmlError,
  type CsrMatrix,
  type KnnResult,
  type LabelMatrix,
  normalizeRows,
  validateCsr,
} from "@annexml/sparse-io";
import type { AnnexmlParams } from "../config.js";
import { type LearnerArrays, Predictor, type PredictSettings } from "../engine/predictor.js";
import { readContainer, type SectionArray, writeContainer } from "./container.js";
import { type Packable, pack, unpack } from "./pack.js";

/** The training parameters a model keeps (the config's training keys). */
export type TrainingParams = Pick<
  AnnexmlParams,
  | "emb_size"
  | "num_learner"
  | "num_nn"
  | "cls_type"
  | "cls_iter"
  | "emb_iter"
  | "label_normalize"
  | "eta0"
  | "lambda"
  | "gamma"
  | "num_edge"
  | "seed"
  | "cluster_size"
  | "anchor_step"
>;

export const TRAINING_PARAM_NAMES: readonly (keyof TrainingParams)[] = [
  "emb_size",
  "num_learner",
  "num_nn",
  "cls_type",
  "cls_iter",
  "emb_iter",
  "label_normalize",
  "eta0",
  "lambda",
  "gamma",
  "num_edge",
  "seed",
  "cluster_size",
  "anchor_step",
];

/** What a model file's JSON header holds besides the array layout. */
export interface ModelInfo {
  /** `annexml-ts` for models we trained, `annexml-cpp` for imported ones. */
  origin: "annexml-ts" | "annexml-cpp";
  params: TrainingParams;
  /** The training data: its name and sizes. */
  data: { file: string; rows: number; features: number; labels: number; nnz: number };
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
}

interface ModelMeta extends ModelInfo {
  arrays: unknown;
}

const require = createRequire(import.meta.url);

/** Versions of the AnnexML packages in use (recorded in every model). */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["cli", "sparse-io", "knng", "partition", "embed", "ann-search"]) {
    try {
      out[`@annexml/${name}`] = (
        require(`@annexml/${name}/package.json`) as { version: string }
      ).version;
    } catch {
      out[`@annexml/${name}`] = "unknown";
    }
  }
  return out;
}

/** Options of {@link AnnexmlModel.predict}. */
export interface ModelPredictOptions {
  /** Labels per row (default 10). */
  k?: number;
  /** Learners used (default all). */
  numLearners?: number;
  /** Neighbours per learner (default the model's num_nn). */
  numNeighbours?: number;
  /** 1 = graph search (default), 0 = brute force. */
  predType?: number;
  /** Exploration slack of the graph search (default 0). */
  searchEps?: number;
}

/**
 * A trained AnnexML model: the training label sets, and per learner its
 * partitioner and, per partition, the training rows, embedding model and
 * search graph. Saved as a versioned container (see `container.ts`).
 */
export class AnnexmlModel {
  constructor(
    readonly info: ModelInfo,
    readonly trainLabels: LabelMatrix,
    readonly learners: LearnerArrays[],
  ) {}

  /** Number of learners stored. */
  get numLearners(): number {
    return this.learners.length;
  }

  /** Writes the model atomically; returns the file size in bytes. */
  async save(path: string): Promise<number> {
    const sections: [string, SectionArray][] = [];
    const arrays = pack(
      "m",
      {
        trainLabels: {
          rows: this.trainLabels.rows,
          cols: this.trainLabels.cols,
          indptr: this.trainLabels.indptr,
          indices: this.trainLabels.indices,
        },
        learners: Object.fromEntries(
          this.learners.map((learner, l) => [
            String(l),
            {
              partition: learner.partition as unknown as Packable,
              parts: Object.fromEntries(
                learner.parts.map((p, k) => [String(k), p as unknown as Packable]),
              ),
            },
          ]),
        ),
      },
      sections,
    );
    const meta: ModelMeta = { ...this.info, arrays };
    return writeContainer(path, meta, sections);
  }

  /**
   * Reads a model, refusing a truncated or corrupted file, one of a newer
   * format, or one that is not a model. `shared` puts the arrays on shared
   * memory for worker threads.
   */
  static async load(
    path: string,
    options: { shared?: boolean } = {},
  ): Promise<{ model: AnnexmlModel; fileBytes: number; sections: number }> {
    const container = await readContainer<ModelMeta>(path, options);
    const { arrays, ...info } = container.meta;
    try {
      const model = AnnexmlModel.fromParts(info, unpack(arrays, container.sections));
      return { model, fileBytes: container.fileBytes, sections: container.sections.size };
    } catch (error) {
      throw new AnnexmlError("BAD_FORMAT", `inconsistent model: ${(error as Error).message}`, {
        file: path,
      });
    }
  }

  /** Rebuilds a model from unpacked arrays (the shape {@link save} writes). */
  static fromParts(info: ModelInfo, arrays: unknown): AnnexmlModel {
    const a = arrays as {
      trainLabels: LabelMatrix;
      learners: Record<
        string,
        {
          partition: LearnerArrays["partition"];
          parts: Record<string, LearnerArrays["parts"][number]>;
        }
      >;
    };
    validateCsr(a.trainLabels, "training labels");
    const learners: LearnerArrays[] = [];
    for (let l = 0; l < Object.keys(a.learners).length; l++) {
      const learner = a.learners[String(l)];
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
    return new AnnexmlModel(info, a.trainLabels, learners);
  }

  /** The full prediction settings for these options, checked against the model. */
  predictSettings(options: ModelPredictOptions = {}): PredictSettings {
    const settings: PredictSettings = {
      numLearners: Math.min(options.numLearners ?? this.numLearners, this.numLearners),
      numNeighbours: options.numNeighbours ?? this.info.params.num_nn,
      predType: options.predType ?? 1,
      searchEps: options.searchEps ?? 0,
      topK: options.k ?? 10,
    };
    for (const [name, value] of Object.entries(settings)) {
      if (!Number.isFinite(value) || value < 0)
        throw new RangeError(`${name} must be a non-negative number, but is ${value}`);
    }
    if (!Number.isInteger(settings.topK) || settings.topK < 1) {
      throw new RangeError(`k must be a positive integer, but is ${settings.topK}`);
    }
    if (!Number.isInteger(settings.numLearners) || settings.numLearners < 1) {
      throw new RangeError(
        `numLearners must be a positive integer, but is ${settings.numLearners}`,
      );
    }
    if (!Number.isInteger(settings.numNeighbours) || settings.numNeighbours < 1) {
      throw new RangeError(
        `numNeighbours must be a positive integer, but is ${settings.numNeighbours}`,
      );
    }
    return settings;
  }

  /** A predictor with its own scratch (one per thread). */
  createPredictor(options: ModelPredictOptions = {}): Predictor {
    return new Predictor(this.trainLabels, this.learners, this.predictSettings(options));
  }

  /**
   * Predicts the top-k labels of raw feature rows (normalised here, on a
   * copy): `ids[r * k + j]` is the j-th label of row r (-1 when fewer were
   * found), `scores` its votes. Single-threaded; the CLI's `predict`
   * command spreads rows over worker threads.
   */
  predict(rows: CsrMatrix, options: ModelPredictOptions = {}): KnnResult {
    const predictor = this.createPredictor(options);
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
