/**
 * An optional label re-ranker for AnnexML's vote shortlist (as the ranker
 * stage of SLICE / XR-Linear): per-label sparse linear scorers trained on
 * each label's positives against its hard negatives (rows whose shortlist
 * holds the label but which do not have it), and the kernel that scores a
 * shortlist. Synchronous, pure, browser-safe.
 */
export {
  DEFAULT_RERANK_SETTINGS,
  DEFAULT_RERANK_TRAIN_OPTIONS,
  type RerankSettings,
  type RerankTrainOptions,
  validateRerankSettings,
  validateRerankTrainOptions,
} from "./options.js";
export { combineScore, type RerankerArrays, scoreShortlistImpl } from "./score.js";
export {
  checkRerankerArrays,
  concatRerankers,
  type RerankExamples,
  rerankExamples,
  trainReranker,
  trainRerankerRange,
} from "./train.js";
