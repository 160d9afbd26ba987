import { badOption } from "@annexml/sparse-io";
/** Options of `evaluate` and `evaluatePropensityScored`. */
export interface EvaluateOptions {
  /**
   * Metrics are reported at ranks 1..k (`P@1` … `P@k`). Default 5, as the
   * reference scripts.
   */
  k?: number;
  /**
   * Re-rank each row's predictions by score descending, then label id
   * ascending, as the reference scripts do; a label listed twice counts once,
   * with its last score (the script builds a dict). When false, predictions
   * are taken in the given order, repeats included (the script's
   * `--ordered`). Default true.
   */
  sort?: boolean;
}

/** Defaults of {@link EvaluateOptions}. */
export const DEFAULT_EVALUATE_OPTIONS: Readonly<Required<EvaluateOptions>> = Object.freeze({
  k: 5,
  sort: true,
});

/**
 * Checks `options` and fills in the defaults; throws an `AnnexmlError` `BAD_OPTION` naming
 * the bad value.
 */
export function validateEvaluateOptions(options: EvaluateOptions = {}): Required<EvaluateOptions> {
  const merged = { ...DEFAULT_EVALUATE_OPTIONS, ...options };
  if (!Number.isSafeInteger(merged.k) || merged.k < 1) {
    throw badOption(`k must be a positive integer, but is ${merged.k}`);
  }
  if (typeof merged.sort !== "boolean") {
    throw badOption(`sort must be a boolean, but is ${merged.sort}`);
  }
  return merged;
}

/** Options of `evaluatePropensityScored`. */
export interface PropensityScoredOptions extends EvaluateOptions {
  /**
   * Whether a row with true labels but no prediction adds its ideal (its k
   * largest inverse propensities) to the denominators of PSP@k and PSnDCG@k.
   * Default false, as the reference script, which skips such lines entirely;
   * true is the textbook definition (such a row is a miss, not absent).
   * P@k and nDCG@k are unaffected either way.
   */
  includeUnpredictedRows?: boolean;
}

/** Defaults of {@link PropensityScoredOptions}. */
export const DEFAULT_PROPENSITY_SCORED_OPTIONS: Readonly<Required<PropensityScoredOptions>> =
  Object.freeze({ ...DEFAULT_EVALUATE_OPTIONS, includeUnpredictedRows: false });

/**
 * Checks `options` and fills in the defaults; throws an `AnnexmlError`
 * `BAD_OPTION` naming the bad value.
 */
export function validatePropensityScoredOptions(
  options: PropensityScoredOptions = {},
): Required<PropensityScoredOptions> {
  const { k, sort } = validateEvaluateOptions(options);
  const includeUnpredictedRows =
    options.includeUnpredictedRows ?? DEFAULT_PROPENSITY_SCORED_OPTIONS.includeUnpredictedRows;
  if (typeof includeUnpredictedRows !== "boolean") {
    throw badOption(`includeUnpredictedRows must be a boolean, but is ${includeUnpredictedRows}`);
  }
  return { k, sort, includeUnpredictedRows };
}

/**
 * Parameters of the inverse propensities of Jain et al. (2016):
 * `w_l = 1 + C (n_l + B)^(-A)` with `C = (ln N - 1) (B + 1)^A`.
 */
export interface PropensityOptions {
  /** Default 0.55 (Amazon: 0.6, Wikipedia-LSHTC: 0.5). */
  A?: number;
  /** Default 1.5 (Amazon: 2.6, Wikipedia-LSHTC: 0.4). */
  B?: number;
  /**
   * Length of the weight table: at least the train matrix's `cols`; larger
   * to cover labels of a test set that never occur in training (their
   * weight is the `n_l = 0` one either way). Default `trainLabels.cols`.
   */
  numLabels?: number;
}

/** Defaults of {@link PropensityOptions} (`numLabels` defaults to the train matrix's `cols`). */
export const DEFAULT_PROPENSITY_OPTIONS: Readonly<Required<Omit<PropensityOptions, "numLabels">>> =
  Object.freeze({ A: 0.55, B: 1.5 });

/**
 * Checks `options` and fills in `A` and `B`; throws an `AnnexmlError` `BAD_OPTION` naming
 * the bad value. A must be finite and >= 0, B finite and > 0 (B = 0 would
 * give unseen labels an infinite weight).
 */
export function validatePropensityOptions(
  options: PropensityOptions = {},
): Required<Omit<PropensityOptions, "numLabels">> & Pick<PropensityOptions, "numLabels"> {
  const A = options.A ?? DEFAULT_PROPENSITY_OPTIONS.A;
  const B = options.B ?? DEFAULT_PROPENSITY_OPTIONS.B;
  const { numLabels } = options;
  if (typeof A !== "number" || !Number.isFinite(A) || A < 0) {
    throw badOption(`A must be a finite number >= 0, but is ${A}`);
  }
  if (typeof B !== "number" || !Number.isFinite(B) || B <= 0) {
    throw badOption(`B must be a finite number > 0, but is ${B}`);
  }
  if (numLabels !== undefined && (!Number.isSafeInteger(numLabels) || numLabels < 0)) {
    throw badOption(`numLabels must be a non-negative integer, but is ${numLabels}`);
  }
  return { A, B, numLabels };
}
