import { AnnexmlError } from "@annexml/sparse-io";

/** How the per-label scorers are trained (see {@link trainReranker}). */
export interface RerankTrainOptions {
  /** Loss weight C of the L2-regularised squared hinge: `0.5 |w|^2 + C sum max(0, 1 - y w.x)^2` (default 0.3). */
  cost: number;
  /** Dual coordinate descent epochs per label at most (default 20). */
  epochs: number;
  /** Stop a label once an epoch's largest projected gradient is below this (default 0.05). */
  tolerance: number;
  /** Weights with `|w| < prune` are dropped from the stored scorer (default 0.01; 0 keeps all). */
  prune: number;
  /** Seed of the per-label example orders (each label derives its own from it and its id). */
  seed: number;
}

/** The defaults of {@link RerankTrainOptions} (measured on bibtex and delicious, see the README). */
export const DEFAULT_RERANK_TRAIN_OPTIONS: Readonly<RerankTrainOptions> = Object.freeze({
  cost: 0.3,
  epochs: 20,
  tolerance: 0.05,
  prune: 0.01,
  seed: 0x5eed,
});

/** How a shortlist is re-scored at prediction (see {@link combineScore}). */
export interface RerankSettings {
  /**
   * Weight `a` of the scorer against the vote, in [0, 1]: a label's score is
   * `(1 - a) ln(v / v1) + a ln p`, `v / v1` its vote over the shortlist's
   * best, `p = exp(-max(0, 1 - w.x)^2)`; 0 keeps the vote order (default 0.5).
   */
  weight: number;
  /** Labels of the vote's shortlist re-scored per row (default 10). */
  shortlist: number;
}

/** The defaults of {@link RerankSettings}. */
export const DEFAULT_RERANK_SETTINGS: Readonly<RerankSettings> = Object.freeze({
  weight: 0.5,
  shortlist: 10,
});

function bad(name: string, rule: string, value: unknown): AnnexmlError {
  return new AnnexmlError(
    "BAD_OPTION",
    `re-ranker option '${name}' must be ${rule}, but is ${typeof value === "string" ? JSON.stringify(value) : String(value)}`,
  );
}

function finite(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** The training options with defaults filled in; `BAD_OPTION` naming a bad value. */
export function validateRerankTrainOptions(
  options: Partial<RerankTrainOptions> = {},
): RerankTrainOptions {
  const o = { ...DEFAULT_RERANK_TRAIN_OPTIONS, ...options };
  if (!finite(o.cost) || o.cost <= 0) throw bad("cost", "a positive number", o.cost);
  if (!Number.isInteger(o.epochs) || o.epochs < 1 || o.epochs > 10000)
    throw bad("epochs", "an integer in [1, 10000]", o.epochs);
  if (!finite(o.tolerance) || o.tolerance < 0)
    throw bad("tolerance", "a non-negative number", o.tolerance);
  if (!finite(o.prune) || o.prune < 0) throw bad("prune", "a non-negative number", o.prune);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff)
    throw bad("seed", "an integer in [0, 2^32 - 1]", o.seed);
  return o;
}

/** The prediction settings with defaults filled in; `BAD_OPTION` naming a bad value. */
export function validateRerankSettings(settings: Partial<RerankSettings> = {}): RerankSettings {
  const s = { ...DEFAULT_RERANK_SETTINGS, ...settings };
  if (!finite(s.weight) || s.weight < 0 || s.weight > 1)
    throw bad("weight", "a number in [0, 1]", s.weight);
  if (!Number.isInteger(s.shortlist) || s.shortlist < 1 || s.shortlist > 100000)
    throw bad("shortlist", "an integer in [1, 100000]", s.shortlist);
  return s;
}
