/**
 * Options, defaults and validation of the search indexes.
 */

import { type SpaceKernelChoice, validateSpaceKernel } from "@annexml/knng";
import type { KnnResult } from "@annexml/sparse-io";
import { badOption } from "@annexml/sparse-io";

/**
 * How distances are measured and reported.
 *
 * - `cosine`: stored rows are unit vectors (or exactly zero); queries are
 *   normalised by the index. The search ranks by squared Euclidean distance
 *   `d` and reports the cosine similarity `1 - d / 2`, best (largest) first.
 * - `l2`: any finite vectors; ranks and reports the squared Euclidean
 *   distance, best (smallest) first.
 */
export type AnnMetric = "cosine" | "l2";

/** The kinds of index behind {@link AnnIndex}: the tree + kNN-graph index, or the exact scan. */
export type AnnIndexKind = "graph" | "bruteForce";

/**
 * The order in which the graph search takes its candidates.
 *
 * - `lifo`: the original AnnexML's stack; a candidate's distance is computed
 *   when it is popped, and the neighbours of a candidate closer than the
 *   bound are pushed (best neighbour on top).
 * - `best-first`: a priority queue of evaluated candidates; the nearest one
 *   is expanded next and the search stops at the first candidate beyond the
 *   bound.
 */
export type CandidateOrder = "lifo" | "best-first";

/** How the graph index builds its kNN graph when none is given. */
export type GraphBuild = "exact" | "approx" | "auto";

/**
 * Per-query options of {@link AnnIndex.search}. `leaves` and `order`
 * default to the index's own settings (see {@link GraphIndexOptions}); the
 * brute-force index checks but ignores all three.
 */
export interface SearchOptions {
  /**
   * Exploration slack of the graph search: a candidate at squared distance
   * `d` is expanded while `d < (1 + eps) * worst`, `worst` being the k-th
   * best distance found so far (+Infinity until k rows are found);
   * best-first multiplies the bound by a further `1 + BEST_FIRST_SLACK`
   * (1.1) so that equal `eps` means about equal recall for both orders. 0
   * (default) is the original's setting; larger values visit more rows for
   * a higher recall. Finite, >= 0.
   */
  eps?: number;
  /** Leaves the tree descent collects before the graph exploration (>= 1). */
  leaves?: number;
  /** Candidate order of the graph exploration. */
  order?: CandidateOrder;
}

/** Default of {@link SearchOptions.eps}. */
export const DEFAULT_SEARCH_OPTIONS: Readonly<Pick<Required<SearchOptions>, "eps">> = Object.freeze(
  { eps: 0 },
);

/**
 * `options.eps`, checked, without allocating (it runs once per query).
 * Throws an `AnnexmlError` `BAD_OPTION` naming the bad value.
 */
export function searchEps(options: SearchOptions | undefined): number {
  const eps = options === undefined ? undefined : options.eps;
  if (eps === undefined) return DEFAULT_SEARCH_OPTIONS.eps;
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps < 0) {
    throw badOption(`eps must be a finite number >= 0, but is ${String(eps)}`);
  }
  return eps;
}

/** `options.leaves` (or `fallback`), checked, without allocating. */
export function searchLeaves(options: SearchOptions | undefined, fallback: number): number {
  const leaves = options === undefined ? undefined : options.leaves;
  if (leaves === undefined) return fallback;
  if (typeof leaves !== "number" || !Number.isSafeInteger(leaves) || leaves < 1) {
    throw badOption(`leaves must be a positive integer, but is ${String(leaves)}`);
  }
  return leaves;
}

/** `options.order` (or `fallback`), checked, without allocating. */
export function searchOrder(
  options: SearchOptions | undefined,
  fallback: CandidateOrder,
): CandidateOrder {
  const order = options === undefined ? undefined : options.order;
  return order === undefined ? fallback : validateOrder(order);
}

/**
 * Checks `options` and fills in the defaults (`leaves` and `order` from
 * `defaults`, e.g. an index's settings). Throws an `AnnexmlError` `BAD_OPTION` naming the
 * bad value.
 */
export function validateSearchOptions(
  options: SearchOptions = {},
  defaults: { leaves: number; order: CandidateOrder } = DEFAULT_GRAPH_INDEX_OPTIONS,
): Required<SearchOptions> {
  return {
    eps: searchEps(options),
    leaves: searchLeaves(options, defaults.leaves),
    order: searchOrder(options, defaults.order),
  };
}

/**
 * Options of {@link buildIndex}. The brute-force index uses only `metric`
 * (the others are still validated).
 */
export interface GraphIndexOptions {
  /** Default `cosine` (AnnexML's). */
  metric?: AnnMetric;
  /**
   * The tree stops splitting a node of at most this many rows (AnnexML:
   * `num_nn`, the k of the caller). Default 10.
   */
  leafSize?: number;
  /** Out-edges per row of the kNN graph (AnnexML: `num_edge`). Default 50. */
  numEdges?: number;
  /**
   * Lloyd (2-means) iterations refining each random bisection of the tree
   * so that rows go to the nearer child centre, the rule the descent
   * follows. 0 = the original's split. Default 3.
   */
  splitIterations?: number;
  /** Seed of the tree's random splits and of the approximate graph build. Default 0x5EED. */
  seed?: number;
  /**
   * Default candidate order of the searches (see {@link CandidateOrder}).
   * Default `best-first`: it reaches the higher recall at equal distance
   * computations on the benchmark.
   */
  order?: CandidateOrder;
  /**
   * Default number of leaves the tree descent collects (best-bin-first),
   * whose rows seed the graph exploration. 1 = the original's single leaf.
   * Default 3: each further leaf costs about `leafSize` distance
   * computations and rescues queries whose descent strays into a
   * neighbouring cluster (a kNN graph does not connect well-separated
   * clusters).
   */
  leaves?: number;
  /**
   * A prebuilt kNN graph of the same vectors (self excluded, best first, -1
   * padded), e.g. from `@annexml/knng`. Its first `numEdges` columns are
   * used; `numEdges` defaults to its `k` and must not exceed it.
   */
  graph?: KnnResult;
  /**
   * How to build the kNN graph when `graph` is not given: `exact` (all
   * pairs, O(n^2 dim)), `approx` (`@annexml/knng`'s grouped join and
   * NN-descent), or `auto` (default): exact up to
   * {@link AUTO_EXACT_MAX_ROWS} rows, approximate above.
   */
  graphBuild?: GraphBuild;
  /**
   * Store the vectors and graph with rows reordered by tree leaf, so that
   * rows explored together sit together in memory (a large speed-up once
   * the vectors outgrow the CPU caches). The WebAssembly kernel always
   * holds its own copy (`size * (dim + numEdges + 1) * 4` bytes, `dim`
   * rounded up to a multiple of 4), and always in leaf order, whatever
   * this says. With the JavaScript fallback, false reads the caller's
   * matrix and graph in place (no copy). Default true.
   */
  reorder?: boolean;
  /**
   * Distance kernel (`@annexml/knng`'s `VectorSpace`): `"auto"` (default)
   * WebAssembly SIMD where it runs, else JavaScript; `"wasm"` throws where
   * it cannot run; `"js"` forces the scalar kernel. Also used to build the
   * kNN graph.
   */
  kernel?: SpaceKernelChoice;
}

/**
 * Rows up to which `graphBuild: "auto"` builds the exact kNN graph. With
 * the WebAssembly SIMD kernel the exact graph costs no more than the
 * approximate one up to here (50 dims, k = 50: 0.29 s against 0.33 s at
 * 6,000 rows, 0.44 s each at 8,000) and is exact; above it the approximate
 * graph is faster (0.55 s against 0.65 s at 10,000 rows, and the gap grows
 * as n^2 against n) with a graph recall of at least 0.99. (With the
 * JavaScript fallback kernel the crossover lies near 5,000 rows.)
 */
export const AUTO_EXACT_MAX_ROWS = 8000;

/** Defaults of {@link GraphIndexOptions} (`graph` has none). */
export const DEFAULT_GRAPH_INDEX_OPTIONS: Readonly<Required<Omit<GraphIndexOptions, "graph">>> =
  Object.freeze({
    metric: "cosine",
    leafSize: 10,
    numEdges: 50,
    splitIterations: 3,
    seed: 0x5eed,
    order: "best-first",
    leaves: 3,
    graphBuild: "auto",
    reorder: true,
    kernel: "auto",
  });

/** {@link GraphIndexOptions} after validation: every field set (`graph` may be null). */
export interface ResolvedGraphIndexOptions
  extends Required<Omit<GraphIndexOptions, "graph" | "numEdges">> {
  numEdges: number;
  graph: KnnResult | null;
}

const METRICS: readonly string[] = ["cosine", "l2"];
const ORDERS: readonly string[] = ["lifo", "best-first"];
const GRAPH_BUILDS: readonly string[] = ["exact", "approx", "auto"];

/** Throws an `AnnexmlError` `BAD_OPTION` unless `metric` is an {@link AnnMetric}. */
export function validateMetric(metric: unknown): AnnMetric {
  if (typeof metric !== "string" || !METRICS.includes(metric)) {
    throw badOption(`metric must be "cosine" or "l2", but is ${JSON.stringify(metric)}`);
  }
  return metric as AnnMetric;
}

/** Throws an `AnnexmlError` `BAD_OPTION` unless `order` is a {@link CandidateOrder}. */
export function validateOrder(order: unknown): CandidateOrder {
  if (typeof order !== "string" || !ORDERS.includes(order)) {
    throw badOption(`order must be "lifo" or "best-first", but is ${JSON.stringify(order)}`);
  }
  return order as CandidateOrder;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw badOption(`${name} must be a positive integer, but is ${String(value)}`);
  }
  return value;
}

/**
 * Checks `options` and fills in the defaults; throws an
 * `AnnexmlError` `BAD_OPTION` (a malformed `graph` included) naming the bad value. The graph's
 * shape against the vectors is checked by the builder.
 */
export function validateGraphIndexOptions(
  options: GraphIndexOptions = {},
): ResolvedGraphIndexOptions {
  const d = DEFAULT_GRAPH_INDEX_OPTIONS;
  const metric = validateMetric(options.metric ?? d.metric);
  const leafSize = positiveInteger("leafSize", options.leafSize ?? d.leafSize);
  const order = validateOrder(options.order ?? d.order);
  const leaves = positiveInteger("leaves", options.leaves ?? d.leaves);
  const splitIterations = options.splitIterations ?? d.splitIterations;
  if (
    typeof splitIterations !== "number" ||
    !Number.isSafeInteger(splitIterations) ||
    splitIterations < 0
  ) {
    throw badOption(
      `splitIterations must be a non-negative integer, but is ${String(splitIterations)}`,
    );
  }
  const seed = options.seed ?? d.seed;
  if (typeof seed !== "number" || !Number.isInteger(seed)) {
    throw badOption(`seed must be an integer, but is ${String(seed)}`);
  }
  const graphBuild = options.graphBuild ?? d.graphBuild;
  if (typeof graphBuild !== "string" || !GRAPH_BUILDS.includes(graphBuild)) {
    throw badOption(
      `graphBuild must be "exact", "approx" or "auto", but is ${JSON.stringify(graphBuild)}`,
    );
  }
  const reorder = options.reorder ?? d.reorder;
  if (typeof reorder !== "boolean") {
    throw badOption(`reorder must be a boolean, but is ${String(reorder)}`);
  }
  const kernel = validateSpaceKernel(options.kernel ?? d.kernel);
  const graph = options.graph ?? null;
  if (graph !== null) {
    if (
      typeof graph !== "object" ||
      !(graph.ids instanceof Int32Array) ||
      !Number.isSafeInteger(graph.k) ||
      !Number.isSafeInteger(graph.rows) ||
      graph.ids.length !== graph.rows * graph.k
    ) {
      throw badOption(
        "graph must be a KnnResult {rows, k, ids: Int32Array(rows * k), scores}, but is malformed",
      );
    }
  }
  const numEdges = positiveInteger(
    "numEdges",
    options.numEdges ?? (graph !== null ? graph.k : d.numEdges),
  );
  if (graph !== null && numEdges > graph.k) {
    throw badOption(
      `numEdges must be at most the prebuilt graph's k (${graph.k}), but is ${numEdges}`,
    );
  }
  return {
    metric,
    leafSize,
    numEdges,
    splitIterations,
    seed,
    order,
    leaves,
    graph,
    graphBuild: graphBuild as GraphBuild,
    reorder,
    kernel,
  };
}
