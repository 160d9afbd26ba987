import { MIN_BALANCE } from "@annexml/partition";
import { AnnexmlError } from "@annexml/sparse-io";

/**
 * The parameters of `annexml train` / `annexml predict`: the original
 * AnnexML's names, meanings and defaults (its example file's values), plus
 * `cluster_size`. A config is a JSON object of these keys; `key=value`
 * arguments override it (later wins).
 */
export interface AnnexmlParams {
  emb_size: number;
  num_learner: number;
  num_nn: number;
  cls_type: number;
  cls_balance: number;
  cls_iter: number;
  emb_iter: number;
  label_normalize: number;
  eta0: number;
  lambda: number;
  gamma: number;
  pred_type: number;
  num_edge: number;
  search_eps: number;
  vote_power: number;
  vote_beta: number;
  learner_norm: number;
  vote_merge: number;
  vote_propensity: number;
  rerank: number;
  rerank_cost: number;
  rerank_negatives: number;
  rerank_weight: number;
  rerank_shortlist: number;
  num_thread: number;
  seed: number;
  verbose: number;
  cluster_size: number;
  anchor_step: number;
  adagrad_rsqrt: number;
  compact: number;
  dry_run: number;
  max_memory: number;
  result_format: number;
  learners: string;
  train_file: string;
  label_names: string;
  predict_file: string;
  model_file: string;
  result_file: string;
  queue: string;
  work_dir: string;
}

type Kind = "int" | "float" | "path" | "text";

/** How one parameter is checked and documented. */
export interface ParamSpec {
  kind: Kind;
  default: number | string;
  min?: number;
  max?: number;
  /** Which commands read it (predict ignores training parameters: the model fixes them). */
  use: "train" | "predict" | "both";
  help: string;
  /** Names an int parameter's values may also be given by (the name at index i is the value i). */
  names?: readonly string[];
  /** 0 is valid too, below `min` (it switches the feature off). */
  orZero?: boolean;
}

/** Every parameter with its type, default, valid range and meaning. */
export const PARAMS: Readonly<Record<keyof AnnexmlParams, ParamSpec>> = {
  emb_size: {
    use: "train",
    kind: "int",
    default: 50,
    min: 1,
    max: 4096,
    help: "embedding dimension",
  },
  num_learner: {
    use: "both",
    kind: "int",
    default: 15,
    min: 1,
    max: 1000,

    help: "ensemble size; at predict time the first num_learner learners are used",
  },
  num_nn: {
    use: "both",
    kind: "int",
    default: 10,
    min: 1,
    max: 1000,

    help: "neighbours: positives per row in training, neighbours per learner in prediction, leaf size of the search tree",
  },
  cls_type: {
    use: "train",
    kind: "int",
    default: 1,
    min: 0,
    max: 2,
    help: "partitioner: 1 = min-cut of the label kNN graph, 0 = spherical k-means, 2 = tree of min-cuts (at most 16-way; the same as 1 when K <= 16; experimental, not faster yet: see packages/partition/README.md)",
  },
  cls_balance: {
    use: "train",
    kind: "float",
    default: 0,
    min: MIN_BALANCE,
    max: 1000000,
    orZero: true,
    help: "partition balance: no partition holds more than cls_balance x N / K training rows (learned per-partition biases keep prediction on the same rule); 0 = no bound (the original)",
  },
  cls_iter: {
    use: "train",
    kind: "int",
    default: 10,
    min: 1,
    max: 100000,
    help: "partitioner epochs",
  },
  emb_iter: {
    use: "train",
    kind: "int",
    default: 10,
    min: 1,
    max: 100000,
    help: "embedding epochs",
  },
  label_normalize: {
    use: "train",
    kind: "int",
    default: 1,
    min: 0,
    max: 1,
    help: "weight a neighbour's shared labels by 1/|Y_j| (1) or 1 (0)",
  },
  eta0: {
    use: "train",
    kind: "float",
    default: 0.1,
    min: Number.MIN_VALUE,
    max: 1e6,
    help: "initial learning rate (AdaGrad / FTRL)",
  },
  lambda: {
    use: "train",
    kind: "float",
    default: 4,
    min: 0,
    max: 1e6,
    help: "L1 strength of the min-cut partitioner",
  },
  gamma: {
    use: "train",
    kind: "float",
    default: 10,
    min: Number.MIN_VALUE,
    max: 1e4,
    help: "scale of the cosine in the embedding loss",
  },
  pred_type: {
    use: "predict",
    kind: "int",
    default: 1,
    min: 0,
    max: 1,

    help: "1 = graph ANN search, 0 = brute force",
  },
  num_edge: {
    use: "both",
    kind: "int",
    default: 50,
    min: 1,
    max: 10000,

    help: "out-edges per vertex of the search graph (a value different from the model's rebuilds the graphs in memory)",
  },
  search_eps: {
    use: "predict",
    kind: "float",
    default: 0,
    min: 0,
    max: 1e6,

    help: "exploration slack of the graph search",
  },
  vote_power: {
    use: "predict",
    kind: "float",
    default: 0,
    min: 0,
    max: 1000,
    help: "a neighbour of cosine similarity s votes max(s, 0)^vote_power * exp(vote_beta * (s - 1)); 0 and 0 = one vote each (the original)",
  },
  vote_beta: {
    use: "predict",
    kind: "float",
    default: 0,
    min: 0,
    max: 1000,
    help: "softmax temperature of a neighbour's vote (see vote_power)",
  },
  learner_norm: {
    use: "predict",
    kind: "int",
    default: 0,
    min: 0,
    max: 2,
    help: "each learner's votes: 0 = as they are, 1 = divided by their sum, 2 = divided by their largest",
  },
  vote_merge: {
    use: "predict",
    kind: "int",
    default: 0,
    min: 0,
    max: 2,
    help: "a training row found by several learners: 0 = their votes summed (the original), 1 = counted once with the largest, 2 = once with the mean",
  },
  vote_propensity: {
    use: "predict",
    kind: "float",
    default: 0,
    min: 0,
    max: 10,
    help: "label scores times w^vote_propensity, w the label's inverse propensity (A = 0.55, B = 1.5): favours rare labels, for PSP@k (0 = off)",
  },
  rerank: {
    use: "train",
    kind: "int",
    default: 0,
    min: 0,
    max: 1,
    help: "1 = also train the label re-ranker: per-label sparse linear scorers on each label's positives against the hard negatives of the ensemble's leave-one-out shortlists (the model grows; prediction re-scores the vote's shortlist)",
  },
  rerank_cost: {
    use: "train",
    kind: "float",
    default: 0.3,
    min: 1e-6,
    max: 1e6,
    help: "re-ranker: loss weight C of each label's L2-regularised squared hinge, 0.5 |w|^2 + C sum max(0, 1 - y w.x)^2",
  },
  rerank_negatives: {
    use: "train",
    kind: "int",
    default: 50,
    min: 1,
    max: 100000,
    help: "re-ranker: labels of each training row's leave-one-out shortlist whose non-positives are hard negatives of their label",
  },
  rerank_weight: {
    use: "predict",
    kind: "float",
    default: 0.5,
    min: 0,
    max: 1,
    help: "a model with a re-ranker: weight a of its scorers against the vote, score = (1 - a) ln(vote / best vote) + a ln p (0 = the vote's order)",
  },
  rerank_shortlist: {
    use: "predict",
    kind: "int",
    default: 10,
    min: 1,
    max: 100000,
    help: "a model with a re-ranker: labels of the vote's shortlist re-scored per row",
  },
  num_thread: {
    use: "both",
    kind: "int",
    default: 1,
    min: 1,
    max: 1024,

    help: "worker threads (1 = in process)",
  },
  seed: {
    use: "train",
    kind: "int",
    default: 0x5eed,
    min: 0,
    max: 0xffffffff,
    help: "random seed: the same seed gives the same model for any num_thread",
  },
  verbose: {
    use: "both",
    kind: "int",
    default: 1,
    min: 0,
    max: 2,

    help: "0 = quiet, 1 = progress and summary, 2 = also each learner's training P@1..5 (the original's diagnostic; slower)",
  },
  cluster_size: {
    use: "train",
    kind: "int",
    default: 6000,
    min: 1,
    max: 0x7fffffff,
    help: "rows per partition: K = max(floor(N / cluster_size), 1)",
  },
  anchor_step: {
    use: "train",
    kind: "int",
    default: 1,
    min: 0,
    max: 1,
    help: "embedding update of a row's own side: 1 = one merged AdaGrad step over all its samples (1.3-1.6x faster training, same accuracy on bibtex, delicious, phyletic_profiles), 0 = one step per sample (the original's update)",
  },
  adagrad_rsqrt: {
    use: "train",
    kind: "int",
    default: 1,
    min: 0,
    max: 1,
    help: "1 / sqrt(G) of the embedding's AdaGrad steps: 1 = approximated by the bit trick and one tuned Newton step (relative error below 6.6e-4; 0.68x the training time on phyletic_profiles, same accuracy on bibtex, delicious, phyletic_profiles), 0 = exact (correctly rounded square root and division, the original's)",
  },
  compact: {
    use: "train",
    kind: "int",
    default: 0,
    min: 0,
    max: 2,
    names: ["0", "f16", "int8"],
    help: "model storage of the projection weights and embeddings: 0 = float32, f16 = float16, int8 = int8 with one scale per row (both also store the search graphs as u16; ~2x / ~3x smaller files, decoded to float32 on load)",
  },
  dry_run: {
    use: "train",
    kind: "int",
    default: 0,
    min: 0,
    max: 1,
    help: "1 = read the data, print the estimated peak memory and model size, and exit without training",
  },
  max_memory: {
    use: "train",
    kind: "int",
    default: 0,
    min: 0,
    max: 2 ** 30,
    help: "MB training may use: refuse to train when the estimated peak is larger (0 = the memory available)",
  },
  result_format: {
    use: "predict",
    kind: "int",
    default: 0,
    min: 0,
    max: 1,
    names: ["original", "jsonl"],
    help: "result_file format: original = the original's lines (true labels TAB label:score,...), jsonl = one JSON object per row: truth, labels, scores, and names when the model has them",
  },
  learners: {
    use: "train",
    kind: "text",
    default: "",
    help: "train only these learners (e.g. 0-4 or 0,3,5-7; empty = all num_learner): a shard with the seeds of the full run; annexml merge joins shards into the full model",
  },
  train_file: {
    use: "train",
    kind: "path",
    default: "",
    help: "training data (XMC text format, .gz accepted)",
  },
  label_names: {
    use: "train",
    kind: "path",
    default: "",
    help: "label names stored in the model: one per line, line i names label id i (as many lines as the training data has label ids)",
  },
  predict_file: { use: "predict", kind: "path", default: "", help: "data to predict (- = stdin)" },
  model_file: {
    use: "both",
    kind: "path",
    default: "",

    help: "the model written by train and read by predict",
  },
  result_file: {
    use: "predict",
    kind: "path",
    default: "",

    help: "where predictions go (- = stdout)",
  },
  queue: {
    use: "train",
    kind: "path",
    default: "",
    help: "redis://HOST:PORT: run the training tasks on `annexml worker` processes of any machines through this Redis (needs work_dir); the model is the same as local training's",
  },
  work_dir: {
    use: "train",
    kind: "path",
    default: "",
    help: "with queue: a directory every worker sees at the same path (a shared mount): the prepared data and the task results go there; a rerun of the same command reuses the finished tasks",
  },
};

export const PARAM_NAMES = Object.keys(PARAMS) as (keyof AnnexmlParams)[];

/** The defaults of every parameter. */
export function defaultParams(): AnnexmlParams {
  const out: Record<string, number | string> = {};
  for (const name of PARAM_NAMES) out[name] = PARAMS[name].default;
  return out as unknown as AnnexmlParams;
}

function configError(reason: string, file?: string): AnnexmlError {
  return new AnnexmlError("BAD_OPTION", reason, file ? { file } : {});
}

function unknownKey(key: string, origin: string): AnnexmlError {
  return configError(
    `unknown parameter '${key}' in ${origin}; valid parameters: ${PARAM_NAMES.join(", ")}`,
  );
}

/** Checks and converts one value; `raw` is a JSON value or the text of `key=value`. */
function coerce(key: keyof AnnexmlParams, raw: unknown, origin: string): number | string {
  const spec = PARAMS[key];
  if (spec.kind === "path" || spec.kind === "text") {
    if (typeof raw !== "string") {
      const what = spec.kind === "path" ? "a file path (a string)" : "a string";
      throw configError(
        `parameter '${key}' in ${origin} must be ${what}, but is ${JSON.stringify(raw)}`,
      );
    }
    return raw;
  }
  let value: number;
  const named = typeof raw === "string" && spec.names ? spec.names.indexOf(raw) : -1;
  if (named >= 0) value = named;
  else if (typeof raw === "number") value = raw;
  else if (typeof raw === "string" && raw.trim() !== "" && Number.isFinite(Number(raw)))
    value = Number(raw);
  else {
    const what = spec.names
      ? `${spec.names.join(" or ")}`
      : spec.kind === "int"
        ? "an integer"
        : "a number";
    throw configError(
      `parameter '${key}' in ${origin} must be ${what}, but is ${JSON.stringify(raw)}`,
    );
  }
  return checkNumber(spec, value, `parameter '${key}' in ${origin}`);
}

/**
 * Checks a number against a numeric parameter's kind and range; throws an
 * `AnnexmlError` `BAD_OPTION` that starts with `what` (e.g. "parameter
 * 'num_nn' in the command line") and names the value.
 */
export function checkNumber(spec: ParamSpec, value: number, what: string): number {
  if (spec.kind === "int" && !Number.isInteger(value)) {
    throw configError(`${what} must be an integer, but is ${value}`);
  }
  if (spec.orZero && value === 0) return value;
  if (
    Number.isNaN(value) ||
    (spec.min !== undefined && value < spec.min) ||
    (spec.max !== undefined && value > spec.max)
  ) {
    const range =
      spec.min === Number.MIN_VALUE
        ? `> 0 and <= ${spec.max}`
        : `${spec.orZero ? "0 or " : ""}in [${spec.min}, ${spec.max}]`;
    throw configError(`${what} must be ${range}, but is ${value}`);
  }
  return value;
}

/** Applies a JSON object of parameters onto `params` (validating every key and value). */
export function applyObject(params: AnnexmlParams, object: unknown, origin: string): AnnexmlParams {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    throw configError(`${origin} must hold a JSON object of parameters`);
  }
  const out = { ...params } as Record<string, number | string>;
  for (const [key, raw] of Object.entries(object)) {
    if (!(key in PARAMS)) throw unknownKey(key, origin);
    out[key] = coerce(key as keyof AnnexmlParams, raw, origin);
  }
  return out as unknown as AnnexmlParams;
}

/** Applies `key=value` arguments in order (later wins). */
export function applyOverrides(params: AnnexmlParams, args: readonly string[]): AnnexmlParams {
  const out = { ...params } as Record<string, number | string>;
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw configError(`argument '${arg}' must be key=value (e.g. num_thread=2)`);
    const key = arg.slice(0, eq);
    if (!(key in PARAMS)) throw unknownKey(key, "the command line");
    out[key] = coerce(key as keyof AnnexmlParams, arg.slice(eq + 1), "the command line");
  }
  return out as unknown as AnnexmlParams;
}

/** Throws when a parameter a command needs is empty. */
export function requireFiles(params: AnnexmlParams, names: readonly (keyof AnnexmlParams)[]): void {
  for (const name of names) {
    if (params[name] === "") {
      throw configError(`parameter '${name}' is required (in the config or as ${name}=PATH)`);
    }
  }
}

/** The parameter table as help text. */
export function paramsHelp(filter?: (spec: ParamSpec) => boolean): string {
  const rows = PARAM_NAMES.filter((n) => !filter || filter(PARAMS[n])).map((name) => {
    const spec = PARAMS[name];
    const def = spec.kind === "path" || spec.kind === "text" ? "" : ` (default ${spec.default})`;
    return `  ${name.padEnd(16)}${spec.help}${def}`;
  });
  return rows.join("\n");
}
