/**
 * The TypeScript API's vocabulary and its one mapping to the config's.
 *
 * Config files and `key=value` arguments keep the original AnnexML's
 * snake_case names and 0/1 integers (see {@link PARAMS}); the TypeScript
 * API speaks camelCase with string unions and booleans. Every API option is
 * one row of a table here: its config key and, for a choice, its values (the
 * value at index i is the config's integer i). Both directions (API ->
 * config for `train`, config -> API for the engine and the predictor) and
 * the validation (types, ranges, unknown keys) read these tables only.
 */
import type { AnnIndexKind } from "@annexml/ann-search";
import type { AnchorStep, RsqrtChoice } from "@annexml/embed";
import { AnnexmlError } from "@annexml/sparse-io";
import type { Compact } from "./compact.js";
import { type AnnexmlParams, checkNumber, PARAMS } from "./params.js";

/** One API option: the config parameter it maps to and, for a choice, its values in the config's integer order. */
interface OptionSpec {
  readonly param: keyof AnnexmlParams;
  readonly values?: readonly unknown[];
}

/**
 * The training parameters a model keeps, in the API's names. The one list:
 * the engine's task settings, the model file's stored `params` (under the
 * config keys, in this order) and `train`'s options derive from it.
 */
export const TRAINING_OPTIONS = {
  /** Embedding dimension (`emb_size`, default 50). */
  embSize: { param: "emb_size" },
  /** Learners in the ensemble (`num_learner`, default 15). */
  numLearners: { param: "num_learner" },
  /** Positives per row in training, leaf size of the search tree (`num_nn`, default 10). */
  numNeighbours: { param: "num_nn" },
  /**
   * Partitioner: `"mincut"` of the label kNN graph (default), spherical
   * `"kmeans"`, or a `"tree"` of at most 16-way min-cuts (experimental: at
   * most 16 centres scored per level, but measured no faster than
   * `"mincut"` up to 240K rows yet; `cls_type` 1 / 0 / 2).
   */
  partitioner: { param: "cls_type", values: ["kmeans", "mincut", "tree"] },
  /**
   * Bound on the rows of a partition, as a multiple of N / K (`cls_balance`;
   * 0 = no bound, the original's min-cut): learned per-partition biases keep
   * the prediction-time argmax on the same bound.
   */
  partitionBalance: { param: "cls_balance" },
  /** Partitioner epochs (`cls_iter`, default 10). */
  partitionerIters: { param: "cls_iter" },
  /** Embedding epochs (`emb_iter`, default 10). */
  embIters: { param: "emb_iter" },
  /** Weight a neighbour's shared labels by 1/|Y_j| (default true; `label_normalize` 1 / 0). */
  labelNormalize: { param: "label_normalize", values: [false, true] },
  /** Initial learning rate (`eta0`, default 0.1). */
  eta0: { param: "eta0" },
  /** L1 strength of the min-cut partitioner (`lambda`, default 4). */
  lambda: { param: "lambda" },
  /** Scale of the cosine in the embedding loss (`gamma`, default 10). */
  gamma: { param: "gamma" },
  /** Out-edges per vertex of the search graphs (`num_edge`, default 50). */
  numEdges: { param: "num_edge" },
  /** Random seed: the same seed gives the same model for any `numThreads` (`seed`). */
  seed: { param: "seed" },
  /** Rows per partition: K = max(floor(N / clusterSize), 1) (`cluster_size`, default 6000). */
  clusterSize: { param: "cluster_size" },
  /** A row's own embedding side: one `"merged"` AdaGrad step (default) or one step `"per-sample"` (the original; `anchor_step` 1 / 0). */
  anchorStep: { param: "anchor_step", values: ["per-sample", "merged"] },
  /** 1 / sqrt(G) of the embedding's AdaGrad steps: `"approx"` (default; bit trick and one Newton step) or `"exact"` (the original's; `adagrad_rsqrt` 1 / 0). */
  rsqrt: { param: "adagrad_rsqrt", values: ["exact", "approx"] },
} as const satisfies Record<string, OptionSpec>;

/** Options of a training run that the model does not keep. */
export const RUN_OPTIONS = {
  /** Worker threads (1 = in this thread; `num_thread`, default 1). */
  numThreads: { param: "num_thread" },
  /** 0 = quiet (the API's default), 1 = progress and summary on stderr, 2 = also each learner's training P@1..5 (`verbose`). */
  verbose: { param: "verbose" },
  /** Training data (XMC text format, .gz accepted; `train_file`). */
  trainFile: { param: "train_file" },
  /** Label names stored in the model: a file of one name per line, line i naming label id i (`label_names`). */
  labelNamesFile: { param: "label_names" },
  /**
   * Also train the optional label re-ranker (`rerank` 0 / 1, default off):
   * per-label sparse scorers on each label's positives against the hard
   * negatives of the ensemble's leave-one-out shortlists of the training
   * rows, used at prediction (see `rerankWeight`).
   */
  rerank: { param: "rerank", values: [false, true] },
  /** Loss weight C of the re-ranker's per-label squared hinge (`rerank_cost`, default 0.3). */
  rerankCost: { param: "rerank_cost" },
  /** Labels of each training row's shortlist the re-ranker's hard negatives come from (`rerank_negatives`, default 50). */
  rerankNegatives: { param: "rerank_negatives" },
  /** How the model is saved: `"none"` (float32, default), `"f16"` or `"int8"` (`compact` 0 / f16 / int8; sets `model.compact`). */
  compact: { param: "compact", values: ["none", "f16", "int8"] },
  /** Train only these learners, e.g. `"0-4"` or `"0,3,5-7"` (default `""`: all): a shard for `annexml merge` (`learners`). */
  learners: { param: "learners" },
} as const satisfies Record<string, OptionSpec>;

/** Prediction options that have a config parameter (`k` has none: the CLI writes 10 labels). */
export const PREDICT_OPTIONS = {
  /** Learners used: the first `numLearners` (default all; `num_learner`). */
  numLearners: { param: "num_learner" },
  /** Neighbours searched per learner (default the model's; `num_nn`). */
  numNeighbours: { param: "num_nn" },
  /** `"graph"` ANN search (default) or exact `"bruteForce"` (`pred_type` 1 / 0). */
  search: { param: "pred_type", values: ["bruteForce", "graph"] },
  /** Exploration slack of the graph search (default 0; `search_eps`). */
  searchEps: { param: "search_eps" },
  /** A neighbour of similarity s votes `max(s, 0)^votePower * exp(voteBeta * (s - 1))` (default 0: one vote; `vote_power`). */
  votePower: { param: "vote_power" },
  /** Softmax temperature of a neighbour's vote (default 0; `vote_beta`). */
  voteBeta: { param: "vote_beta" },
  /** Each learner's votes kept (`"none"`, default), divided by their `"sum"` or their `"max"` (`learner_norm` 0 / 1 / 2). */
  learnerNorm: { param: "learner_norm", values: ["none", "sum", "max"] },
  /** A row found by several learners: votes summed (`"sum"`, default), or once with the `"max"` or `"mean"` (`vote_merge` 0 / 1 / 2). */
  voteMerge: { param: "vote_merge", values: ["sum", "max", "mean"] },
  /** Label scores times the inverse propensity to this power (default 0: off; `vote_propensity`). */
  votePropensity: { param: "vote_propensity" },
  /** A model with a re-ranker: weight of its scorers against the vote in [0, 1], 0 = the vote's order (default 0.5; `rerank_weight`). */
  rerankWeight: { param: "rerank_weight" },
  /** A model with a re-ranker: labels of the vote's shortlist re-scored per row (default 10; `rerank_shortlist`). */
  rerankShortlist: { param: "rerank_shortlist" },
} as const satisfies Record<string, OptionSpec>;

type ValueOf<S> = S extends { values: readonly (infer V)[] }
  ? V
  : S extends { param: infer P extends keyof AnnexmlParams }
    ? AnnexmlParams[P]
    : never;
type OptionsOf<T> = { -readonly [K in keyof T]: ValueOf<T[K]> };

/** The training parameters in the API's names and types (see {@link TRAINING_OPTIONS}). */
export type TrainingOptions = OptionsOf<typeof TRAINING_OPTIONS>;
/** The run options of `train` (see {@link RUN_OPTIONS}). */
export type RunOptions = OptionsOf<typeof RUN_OPTIONS>;

/** The config key of a training parameter. */
export type TrainingParamName = (typeof TRAINING_OPTIONS)[keyof typeof TRAINING_OPTIONS]["param"];

/** The training parameters as a model file stores them: the config's keys and integers. */
export type TrainingParams = Pick<AnnexmlParams, TrainingParamName>;

/** The config keys of the training parameters, in the order a model file stores them. */
export const TRAINING_PARAM_NAMES: readonly TrainingParamName[] = Object.freeze(
  Object.values(TRAINING_OPTIONS).map((o) => o.param),
);

/** The search of {@link PREDICT_OPTIONS}: the `@annexml/ann-search` index kinds. */
export type SearchKind = AnnIndexKind;
// Checked here: the table's values are exactly the package's unions.
const _unions: [
  TrainingOptions["anchorStep"] extends AnchorStep ? true : false,
  AnchorStep extends TrainingOptions["anchorStep"] ? true : false,
  TrainingOptions["rsqrt"] extends RsqrtChoice ? true : false,
  RsqrtChoice extends TrainingOptions["rsqrt"] ? true : false,
  OptionsOf<typeof PREDICT_OPTIONS>["search"] extends SearchKind ? true : false,
  SearchKind extends OptionsOf<typeof PREDICT_OPTIONS>["search"] ? true : false,
  RunOptions["compact"] extends Compact ? true : false,
  Compact extends RunOptions["compact"] ? true : false,
] = [true, true, true, true, true, true, true, true];
void _unions;

/** An `AnnexmlError` with code `BAD_OPTION`. */
export function optionError(reason: string): AnnexmlError {
  return new AnnexmlError("BAD_OPTION", reason);
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (value !== null && typeof value === "object") {
    return Array.isArray(value) ? "an array" : "an object";
  }
  return String(value);
}

/** The config key -> API name of every table, to point a snake_case key at its new name. */
const API_NAME_OF: Record<string, string> = Object.fromEntries(
  [TRAINING_OPTIONS, RUN_OPTIONS, PREDICT_OPTIONS].flatMap((table) =>
    Object.entries(table).map(([name, spec]) => [spec.param, name]),
  ),
);

/**
 * Throws `BAD_OPTION` unless `options` is undefined or a plain object whose
 * keys are all in `valid`; returns its entries with a defined value.
 */
export function optionEntries(
  options: unknown,
  valid: readonly string[],
  origin: string,
): [string, unknown][] {
  if (options === undefined) return [];
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw optionError(`the options of ${origin} must be an object, but are ${show(options)}`);
  }
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(options)) {
    if (!valid.includes(key)) {
      const renamed = API_NAME_OF[key];
      const hint =
        renamed && valid.includes(renamed) ? ` (the config key '${key}' is '${renamed}' here)` : "";
      throw optionError(
        `unknown option '${key}' of ${origin}${hint}; valid options: ${valid.join(", ")}`,
      );
    }
    if (value !== undefined) out.push([key, value]);
  }
  return out;
}

/** Throws `BAD_OPTION` unless `value` is one of `values`. */
export function checkChoice<T>(value: unknown, values: readonly T[], what: string): T {
  if (!values.includes(value as T)) {
    throw optionError(`${what} must be ${values.map(show).join(" or ")}, but is ${show(value)}`);
  }
  return value as T;
}

/** Checks one API value against its table row; returns the config's value. */
function toParam(spec: OptionSpec, value: unknown, what: string): number | string {
  if (spec.values) return spec.values.indexOf(checkChoice(value, spec.values, what));
  const p = PARAMS[spec.param];
  if (p.kind === "path") {
    if (typeof value !== "string" || value === "") {
      throw optionError(`${what} must be a file path (a non-empty string), but is ${show(value)}`);
    }
    return value;
  }
  if (p.kind === "text") {
    if (typeof value !== "string")
      throw optionError(`${what} must be a string, but is ${show(value)}`);
    return value;
  }
  if (typeof value !== "number") {
    throw optionError(
      `${what} must be ${p.kind === "int" ? "an integer" : "a number"}, but is ${show(value)}`,
    );
  }
  return checkNumber(p, value, what);
}

/** The API value of a config value (no checks: config values are checked when read). */
function fromParam(spec: OptionSpec, value: number | string): unknown {
  return spec.values ? spec.values[value as number] : value;
}

/**
 * Validates API options against `tables` (types, ranges, choices; unknown
 * keys are errors, `extra` keys are passed over) and maps them to config
 * values. Errors are `AnnexmlError` `BAD_OPTION` naming the option, the
 * value and what is valid.
 */
export function paramsFromOptions(
  options: unknown,
  tables: readonly Readonly<Record<string, OptionSpec>>[],
  origin: string,
  extra: readonly string[] = [],
): Partial<AnnexmlParams> {
  const specs: Record<string, OptionSpec> = Object.assign({}, ...tables);
  const out: Record<string, number | string> = {};
  for (const [key, value] of optionEntries(options, [...Object.keys(specs), ...extra], origin)) {
    const spec = specs[key];
    if (spec) out[spec.param] = toParam(spec, value, `option '${key}' of ${origin}`);
  }
  return out as Partial<AnnexmlParams>;
}

/** The API values of `table`'s options from (validated) config values. */
function optionsFromParams<T extends Record<string, OptionSpec>>(
  table: T,
  params: Pick<AnnexmlParams, T[keyof T]["param"]>,
): OptionsOf<T> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    out[name] = fromParam(spec, (params as Record<string, number | string>)[spec.param]);
  }
  return out as OptionsOf<T>;
}

/** The training parameters of a config (or of a model file's `params`) in the API's vocabulary. */
export function trainingOptionsOf(params: TrainingParams): TrainingOptions {
  return optionsFromParams(TRAINING_OPTIONS, params);
}

/** The stored training parameters (config keys, in {@link TRAINING_PARAM_NAMES} order) of a config. */
export function trainingParamsOf(params: TrainingParams): TrainingParams {
  return Object.fromEntries(
    TRAINING_PARAM_NAMES.map((name) => [name, params[name]]),
  ) as unknown as TrainingParams;
}

/** Options of `model.predict` (every one optional). */
export type PredictOptions = Partial<OptionsOf<typeof PREDICT_OPTIONS>> & {
  /** Labels per row (default 10). */
  k?: number;
};

/** The prediction options of a config (`annexml predict`: 10 labels per row). */
export function predictOptionsOf(params: AnnexmlParams): PredictOptions {
  return { k: 10, ...optionsFromParams(PREDICT_OPTIONS, params) };
}

/** Largest `k` of a prediction (the label scores are scanned per row, so more would only pad with -1). */
const MAX_K = 1 << 20;

/** `k` (labels per row) checked: a positive integer up to {@link MAX_K}; `BAD_OPTION` otherwise. */
export function checkK(k: unknown, origin: string): number {
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw optionError(
      `option 'k' of ${origin} must be a positive integer (at most ${MAX_K}), but is ${show(k)}`,
    );
  }
  return k;
}

/**
 * Validates prediction options (unknown keys, types, ranges, choices);
 * returns the ones given, checked. Throws `AnnexmlError` `BAD_OPTION`.
 */
export function validatePredictOptions(options: unknown, origin = "predict"): PredictOptions {
  const params = paramsFromOptions(options, [PREDICT_OPTIONS], origin, ["k"]);
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(PREDICT_OPTIONS)) {
    const value = params[spec.param];
    if (value !== undefined) out[name] = fromParam(spec, value);
  }
  const k = (options as { k?: unknown } | undefined)?.k;
  if (k !== undefined) out.k = checkK(k, origin);
  return out as PredictOptions;
}
