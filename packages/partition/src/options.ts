import {
  badInput,
  badOption,
  type CsrMatrix,
  type LabelMatrix,
  Rng,
  validateCsr,
} from "@annexml/sparse-io";
import type { EpochInfo, PartitionOptions, TreeSplitter } from "./types.js";

/** The tightest `balance` (a bound of 1.1 x N / K rows per part). */
export const MIN_BALANCE = 1.1;

/** Upper bound of `treeBranching`. */
export const MAX_TREE_BRANCHING = 256;

/** The flat partitioners a tree node can train (`treeSplitter`). */
export const TREE_SPLITTERS: readonly TreeSplitter[] = Object.freeze(["mincut", "kmeans"]);

/** {@link PartitionOptions} with every default filled in (`k` stays optional: it is derived from N). */
export interface ResolvedPartitionOptions {
  readonly k: number | undefined;
  readonly clusterSize: number;
  readonly iters: number;
  readonly seed: number;
  readonly eta0: number;
  readonly lambda: number;
  readonly numNeighbours: number;
  readonly labelNormalize: boolean;
  readonly pruneBudget: number;
  readonly memoryBudgetBytes: number;
  readonly treeBranching: number;
  readonly treeSplitter: TreeSplitter;
  readonly treeUpperSplitter: TreeSplitter;
  readonly treeSampleRows: number;
  readonly balance: number;
  readonly onEpoch: ((info: EpochInfo) => void) | undefined;
  readonly onProgress: ((done: number, total: number) => void) | undefined;
}

/** The defaults of {@link PartitionOptions}: the original AnnexML's parameters. */
export const DEFAULT_PARTITION_OPTIONS: ResolvedPartitionOptions = Object.freeze({
  k: undefined,
  clusterSize: 6000,
  iters: 10,
  seed: 0x5eed,
  eta0: 0.1,
  lambda: 4.0,
  numNeighbours: 10,
  labelNormalize: true,
  pruneBudget: 5000,
  memoryBudgetBytes: 2 ** 31,
  treeBranching: 16,
  treeSplitter: "mincut",
  treeUpperSplitter: "mincut",
  treeSampleRows: 50000,
  balance: 0,
  onEpoch: undefined,
  onProgress: undefined,
});

function positiveInteger(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1)
    throw badOption(`${name} must be a positive integer, but is ${v}`);
}

function nonNegativeInteger(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw badOption(`${name} must be a non-negative integer, but is ${v}`);
  }
}

/**
 * Fills in the defaults and checks every option, throwing an
 * `AnnexmlError` `BAD_OPTION` that names the bad value (e.g. "k must be a positive integer,
 * but is 0"). Does not know N, so `k <= N` is checked by {@link resolvePartitionCount}.
 */
export function validatePartitionOptions(options: PartitionOptions = {}): ResolvedPartitionOptions {
  if (typeof options !== "object" || options === null) {
    throw badOption(`options must be an object, but is ${options}`);
  }
  const o = { ...DEFAULT_PARTITION_OPTIONS };
  for (const key of Object.keys(options) as (keyof PartitionOptions)[]) {
    if (options[key] !== undefined) (o as Record<string, unknown>)[key] = options[key];
  }
  if (o.k !== undefined) positiveInteger("k", o.k);
  positiveInteger("clusterSize", o.clusterSize);
  nonNegativeInteger("iters", o.iters);
  if (!Number.isInteger(o.seed)) throw badOption(`seed must be an integer, but is ${o.seed}`);
  if (!(o.eta0 > 0) || !Number.isFinite(o.eta0)) {
    throw badOption(`eta0 must be a positive finite number, but is ${o.eta0}`);
  }
  if (!(o.lambda >= 0) || !Number.isFinite(o.lambda)) {
    throw badOption(`lambda must be a non-negative finite number, but is ${o.lambda}`);
  }
  positiveInteger("numNeighbours", o.numNeighbours);
  if (typeof o.labelNormalize !== "boolean") {
    throw badOption(`labelNormalize must be a boolean, but is ${o.labelNormalize}`);
  }
  nonNegativeInteger("pruneBudget", o.pruneBudget);
  if (!(o.memoryBudgetBytes >= 0)) {
    throw badOption(
      `memoryBudgetBytes must be a non-negative number, but is ${o.memoryBudgetBytes}`,
    );
  }
  if (
    !Number.isInteger(o.treeBranching) ||
    o.treeBranching < 2 ||
    o.treeBranching > MAX_TREE_BRANCHING
  ) {
    throw badOption(
      `treeBranching must be an integer in [2, ${MAX_TREE_BRANCHING}], but is ${o.treeBranching}`,
    );
  }
  nonNegativeInteger("treeSampleRows", o.treeSampleRows);
  // An exact packing (1) has no argmax solution in general: 10% slack at least.
  if (!(o.balance === 0 || (o.balance >= MIN_BALANCE && Number.isFinite(o.balance)))) {
    throw badOption(
      `balance must be 0 (no bound) or a finite number >= ${MIN_BALANCE}, but is ${o.balance}`,
    );
  }
  for (const key of ["treeSplitter", "treeUpperSplitter"] as const) {
    if (!TREE_SPLITTERS.includes(o[key])) {
      throw badOption(
        `${key} must be one of ${TREE_SPLITTERS.join(", ")}, but is ${JSON.stringify(o[key])}`,
      );
    }
  }
  if (o.onEpoch !== undefined && typeof o.onEpoch !== "function") {
    throw badOption(`onEpoch must be a function, but is ${typeof o.onEpoch}`);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") {
    throw badOption(`onProgress must be a function, but is ${typeof o.onProgress}`);
  }
  return Object.freeze(o);
}

/**
 * The number of partitions for `n` rows: `options.k` when given (it must
 * satisfy `1 <= k <= n`), else `max(floor(n / clusterSize), 1)`.
 */
export function resolvePartitionCount(n: number, options: ResolvedPartitionOptions): number {
  if (options.k === undefined) return Math.max(Math.floor(n / options.clusterSize), 1);
  if (options.k > n) {
    throw badOption(`k must be at most the number of rows (${n}), but is ${options.k}`);
  }
  return options.k;
}

/**
 * Checks the inputs of `fit`: valid CSR shapes, finite feature values, at
 * least one row and one non-zero feature, labels with as many rows as the features, and (when
 * `needLabels`) at least one label. Throws an `AnnexmlError` `BAD_INPUT`.
 */
export function validateFitInput(
  features: CsrMatrix,
  labels: LabelMatrix,
  needLabels: boolean,
): void {
  if (typeof features !== "object" || features === null) {
    throw badInput(`features must be a CsrMatrix, but is ${features}`);
  }
  if (typeof labels !== "object" || labels === null) {
    throw badInput(`labels must be a LabelMatrix, but is ${labels}`);
  }
  if (!(features.values instanceof Float32Array)) {
    throw badInput("features: values must be a Float32Array");
  }
  validateCsr(features, "features");
  const { values } = features;
  for (let p = 0; p < values.length; p++) {
    if (!Number.isFinite(values[p])) {
      throw badInput(`features: every value must be finite, but entry ${p} is ${values[p]}`);
    }
  }
  validateCsr(labels, "labels");
  if (features.rows === 0) throw badInput("features must have at least one row, but has 0");
  if (labels.rows !== features.rows) {
    throw badInput(
      `labels must have as many rows as features (${features.rows}), but has ${labels.rows}`,
    );
  }
  if (features.indptr[features.rows] === 0) {
    throw badInput(
      `features must have at least one non-zero entry, but all ${features.rows} rows are empty`,
    );
  }
  if (needLabels && labels.indptr[labels.rows] === 0) {
    throw badInput(`labels must have at least one label, but all ${labels.rows} rows are empty`);
  }
}

/** What both partitioners start from; see {@link prepareFit}. */
export interface FitStart {
  options: ResolvedPartitionOptions;
  k: number;
  rng: Rng;
  /** The rows shuffled with `seed`: partition c is seeded from row `order[c]`. */
  order: Int32Array;
}

/**
 * The shared prologue of `fit`: validates options and input, resolves K and,
 * when K > 1, shuffles the rows with `seed` (null when K = 1: one partition
 * needs no training).
 */
export function prepareFit(
  features: CsrMatrix,
  labels: LabelMatrix,
  options: PartitionOptions,
  needLabels: boolean,
): FitStart | null {
  const o = validatePartitionOptions(options);
  validateFitInput(features, labels, needLabels);
  const k = resolvePartitionCount(features.rows, o);
  if (k === 1) return null;
  const rng = new Rng(o.seed);
  const order = new Int32Array(features.rows);
  for (let r = 0; r < order.length; r++) order[r] = r;
  rng.shuffle(order);
  return { options: o, k, rng, order };
}
