/**
 * Extreme multi-label evaluation: P@k, nDCG@k, PSP@k and PSnDCG@k,
 * bit-compatible with AnnexML's reference scripts. Pure and browser-safe:
 * it takes parsed data (`@annexml/sparse-io`'s `readResultFile` and
 * `readDataset` do the file reading) and imports only types from it.
 */
export { formatFixed, formatMetrics, metricsToJSON } from "./format.js";
export {
  evaluate,
  evaluatePropensityScored,
  type PropensityScoredMetrics,
  type RankingMetrics,
} from "./metrics.js";
export {
  DEFAULT_EVALUATE_OPTIONS,
  DEFAULT_PROPENSITY_OPTIONS,
  DEFAULT_PROPENSITY_SCORED_OPTIONS,
  type EvaluateOptions,
  type PropensityOptions,
  type PropensityScoredOptions,
  validateEvaluateOptions,
  validatePropensityOptions,
  validatePropensityScoredOptions,
} from "./options.js";
export { type InversePropensities, inversePropensities } from "./propensity.js";
