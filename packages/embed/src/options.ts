import { badOption, stripUndefined } from "@annexml/sparse-io";

/** Progress report of one training epoch. */
export interface EpochInfo {
  /** 0-based epoch number. */
  readonly epoch: number;
  /** Wall-clock seconds the epoch took (informational; never affects the result). */
  readonly seconds: number;
}

/** Which inner loops train the model; see {@link EmbeddingOptions.kernel}. */
export type KernelChoice = "auto" | "wasm" | "js";

/** How the anchor row is updated; see {@link EmbeddingOptions.anchorStep}. */
export type AnchorStep = "per-sample" | "merged";

/** How the AdaGrad step computes 1 / sqrt(G); see {@link EmbeddingOptions.rsqrt}. */
export type RsqrtChoice = "exact" | "approx";

/**
 * Options of {@link trainEmbedding} (names follow the original's
 * parameters: emb_size, emb_iter, eta0, gamma, seed, num_nn,
 * label_normalize).
 */
export interface EmbeddingOptions {
  /** Embedding dimension (emb_size). Default 50. */
  embSize?: number;
  /** Training epochs (emb_iter); 0 keeps the random initial weights. Default 10. */
  iters?: number;
  /** AdaGrad base learning rate (eta0). Default 0.1. */
  eta0?: number;
  /** Scale of the cosine inside the softmax over negatives (gamma). Default 10. */
  gamma?: number;
  /** Seed of the initial weights, the shuffles and the negatives. Default 0x5EED. */
  seed?: number;
  /** Positives per row when they are computed here (num_nn). Default 10. */
  numNeighbours?: number;
  /** Weight shared labels by 1/|Y_j| when computing the positives. Default true. */
  labelNormalize?: boolean;
  /** Compute P@1..5 of brute-force kNN voting over the partition's rows. Default false. */
  diagnostic?: boolean;
  /** Called after every epoch. */
  onEpoch?: (info: EpochInfo) => void;
  /**
   * Progress in anchor rows: `done` of `total = iters * (rows with
   * positives)`. Called with `(0, total)` once the set-up (the positives
   * graph when it is computed here) is done, every 256 rows, after every
   * epoch (so last with `(total, total)`); `done` never decreases. Only
   * reports: it never changes the model.
   */
  onProgress?: (done: number, total: number) => void;
  /**
   * Inner loops: "wasm" (f32x4 WebAssembly SIMD), "js" (scalar JavaScript),
   * or "auto" (default): wasm where the platform supports it, js otherwise.
   * Both compute the same update; their results agree to float rounding, and
   * each is deterministic for a given seed.
   */
  kernel?: KernelChoice;
  /**
   * "per-sample" (default, the specification and the original): every one
   * of the 2P samples applies its own AdaGrad step to the anchor row's
   * weights. "merged": the anchor gets ONE AdaGrad step along the sum of the
   * 2P directions (all computed before the update, as always), then every
   * sample its own step; about half the square roots, at some accuracy
   * cost (see the README for measured figures). Not the original's update.
   */
  anchorStep?: AnchorStep;
  /**
   * "exact" (default): every AdaGrad step divides by the correctly rounded
   * sqrt(G). "approx": multiplies by a reciprocal square root from the bit
   * trick and one tuned Newton step (relative error below 6.6e-4), which
   * skips the divider unit that bounds the step (see the README for measured
   * speed and accuracy). Deterministic either way; the js kernel computes
   * the same approximation in float32, bit for bit the wasm one.
   */
  rsqrt?: RsqrtChoice;
}

/** The defaults of {@link EmbeddingOptions} (the original's values). */
export const DEFAULT_EMBEDDING_OPTIONS: Readonly<
  Required<Omit<EmbeddingOptions, "onEpoch" | "onProgress">>
> = Object.freeze({
  embSize: 50,
  iters: 10,
  eta0: 0.1,
  gamma: 10,
  seed: 0x5eed,
  numNeighbours: 10,
  labelNormalize: true,
  diagnostic: false,
  kernel: "auto" as KernelChoice,
  anchorStep: "per-sample" as AnchorStep,
  rsqrt: "exact" as RsqrtChoice,
});

/** {@link EmbeddingOptions} with every default filled in. */
export type ResolvedEmbeddingOptions = Required<Omit<EmbeddingOptions, "onEpoch" | "onProgress">> &
  Pick<EmbeddingOptions, "onEpoch" | "onProgress">;

const MAX_EMB_SIZE = 1 << 16;

/**
 * Fills in the defaults and checks every option, throwing an
 * `AnnexmlError` `BAD_OPTION` that names the bad value.
 */
export function validateEmbeddingOptions(options: EmbeddingOptions = {}): ResolvedEmbeddingOptions {
  if (options === null || typeof options !== "object") {
    throw badOption(`options must be an object, but is ${options}`);
  }
  const o = {
    ...DEFAULT_EMBEDDING_OPTIONS,
    ...stripUndefined(options),
  } as ResolvedEmbeddingOptions;
  if (!Number.isInteger(o.embSize) || o.embSize < 1 || o.embSize > MAX_EMB_SIZE) {
    throw badOption(`embSize must be an integer in [1, ${MAX_EMB_SIZE}], but is ${o.embSize}`);
  }
  if (!Number.isInteger(o.iters) || o.iters < 0) {
    throw badOption(`iters must be a non-negative integer, but is ${o.iters}`);
  }
  if (typeof o.eta0 !== "number" || !(o.eta0 > 0) || !Number.isFinite(o.eta0)) {
    throw badOption(`eta0 must be a positive finite number, but is ${o.eta0}`);
  }
  // exp(gamma * 2) must stay finite in double precision.
  if (typeof o.gamma !== "number" || !(o.gamma >= 0) || o.gamma > 300) {
    throw badOption(`gamma must be a number in [0, 300], but is ${o.gamma}`);
  }
  if (!Number.isInteger(o.seed)) {
    throw badOption(`seed must be an integer, but is ${o.seed}`);
  }
  if (!Number.isInteger(o.numNeighbours) || o.numNeighbours < 1) {
    throw badOption(`numNeighbours must be a positive integer, but is ${o.numNeighbours}`);
  }
  if (typeof o.labelNormalize !== "boolean") {
    throw badOption(`labelNormalize must be a boolean, but is ${o.labelNormalize}`);
  }
  if (typeof o.diagnostic !== "boolean") {
    throw badOption(`diagnostic must be a boolean, but is ${o.diagnostic}`);
  }
  if (o.kernel !== "auto" && o.kernel !== "wasm" && o.kernel !== "js") {
    throw badOption(`kernel must be "auto", "wasm" or "js", but is ${o.kernel}`);
  }
  if (o.anchorStep !== "per-sample" && o.anchorStep !== "merged") {
    throw badOption(`anchorStep must be "per-sample" or "merged", but is ${o.anchorStep}`);
  }
  if (o.rsqrt !== "exact" && o.rsqrt !== "approx") {
    throw badOption(`rsqrt must be "exact" or "approx", but is ${o.rsqrt}`);
  }
  if (o.onEpoch !== undefined && typeof o.onEpoch !== "function") {
    throw badOption(`onEpoch must be a function, but is ${typeof o.onEpoch}`);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") {
    throw badOption(`onProgress must be a function, but is ${typeof o.onProgress}`);
  }
  return o;
}

/** Floats per stored embedding row: `embSize` rounded up to a multiple of 4 (one f32x4). */
export function paddedStride(embSize: number): number {
  return (embSize + 3) & ~3;
}
