import {
  createVectorSpace,
  readsInPlace,
  type SpaceArena,
  type SpaceKernelChoice,
  type VectorSpace,
  wasmSpaceAvailable,
} from "@annexml/knng";
import type { DenseMatrix, KnnResult } from "@annexml/sparse-io";
import { badInput, badOption, TopK, validateDense } from "@annexml/sparse-io";
import type { AnnIndexKind, AnnMetric, CandidateOrder, SearchOptions } from "./options.js";
import { searchEps, searchLeaves, searchOrder } from "./options.js";
import type { AnnIndex, IndexArrays } from "./types.js";
import { INDEX_ARRAYS_VERSION } from "./types.js";

const EMPTY_I32 = new Int32Array(0);
const EMPTY_F32 = new Float32Array(0);

/**
 * Scratch entries of a graph index's space: the rows one kernel call takes
 * (a node's fresh neighbours, at most `numEdges`; the descent's leaves, in
 * chunks). 2 KiB per index.
 */
const SEARCH_CAPACITY = 256;

/** Rows the brute-force scan computes per kernel call (8 KiB of scratch). */
const SCAN_CAPACITY = 1024;

/**
 * The slack best-first adds to `eps`: it takes candidates while
 * `d < (1 + eps) * (1 + BEST_FIRST_SLACK) * worst`. Best-first checks a
 * candidate against the bound when it takes it, by which time the bound has
 * tightened, so at the same `eps` it explores less than the original's
 * stack (which decides when it evaluates). With this slack best-first at
 * `eps = 0` reaches about the original's recall at `eps = 0` with 30-60 %
 * fewer distance computations on the benchmark data (README), so callers
 * that pass AnnexML's `search_eps` keep its meaning.
 */
export const BEST_FIRST_SLACK = 0.1;

/** Throws an `AnnexmlError` `BAD_OPTION` unless `k` is a non-negative integer. */
function checkK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 0) {
    throw badOption(`k must be a non-negative integer, but is ${String(k)}`);
  }
}

/**
 * What both kinds share: query checking and normalisation, the top-k
 * selector, and turning distances into the reported scores. Subclasses
 * implement {@link collect}, which offers `(id, -distance)` pairs to `top`.
 */
abstract class BaseIndex implements AnnIndex {
  abstract readonly kind: AnnIndexKind;
  readonly size: number;
  readonly dim: number;
  readonly metric: AnnMetric;
  /** See {@link AnnIndex.distanceEvaluations}. */
  get distanceEvaluations(): number {
    return this.evaluations;
  }
  protected evaluations = 0;
  /**
   * The vectors as the distance kernel reads them (a copy in its
   * WebAssembly memory, or the JavaScript fallback), with its scratch (and
   * a graph index's graph).
   */
  protected readonly space: VectorSpace;
  /** The prepared query: the space's query slot (zero padding beyond `dim`). */
  protected readonly query: Float32Array;
  protected readonly top = new TopK(16);
  /** What `top` drains into, before conversion to scores. */
  private drainedIds = new Int32Array(16);
  private drainedDist = new Float64Array(16);
  /** Default `leaves` of the searches. */
  protected defaultLeaves = 1;
  /** Default candidate order of the searches. */
  protected defaultOrder: CandidateOrder = "best-first";

  constructor(size: number, dim: number, metric: AnnMetric, space: VectorSpace) {
    this.size = size;
    this.dim = dim;
    this.metric = metric;
    this.space = space;
    this.query = space.query;
  }

  /** See {@link AnnIndex.bytes}. */
  abstract get bytes(): number;

  /** Offers the best rows for `this.query` to `this.top` (already reset to `k`). */
  protected abstract collect(k: number, eps: number, leaves: number, order: CandidateOrder): void;

  abstract toArrays(): IndexArrays;

  search(
    query: Float32Array,
    k: number,
    options?: SearchOptions,
  ): { ids: Int32Array; scores: Float32Array } {
    checkK(k);
    const cap = Math.min(k, this.size);
    const ids = new Int32Array(cap);
    const scores = new Float32Array(cap);
    const count = this.searchInto(query, k, ids, scores, 0, options);
    if (count === cap) return { ids, scores };
    return { ids: ids.slice(0, count), scores: scores.slice(0, count) };
  }

  searchInto(
    query: Float32Array,
    k: number,
    outIds: Int32Array,
    outScores: Float32Array,
    offset = 0,
    options?: SearchOptions,
  ): number {
    checkK(k);
    const eps = searchEps(options);
    const leaves = searchLeaves(options, this.defaultLeaves);
    const order = searchOrder(options, this.defaultOrder);
    if (!(query instanceof Float32Array)) {
      throw badInput("query must be a Float32Array");
    }
    if (query.length < this.dim) {
      throw badInput(`query must have at least dim = ${this.dim} entries, but has ${query.length}`);
    }
    const want = Math.min(k, this.size);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw badOption(`offset must be a non-negative integer, but is ${String(offset)}`);
    }
    if (outIds.length < offset + want || outScores.length < offset + want) {
      throw badInput(
        `outIds and outScores need room for ${want} results from offset ${offset}, but have ${outIds.length} and ${outScores.length} entries`,
      );
    }
    return this.run(query, 0, want, eps, leaves, order, outIds, outScores, offset);
  }

  searchBatch(
    queries: DenseMatrix,
    k: number,
    options?: SearchOptions,
    out?: KnnResult,
  ): KnnResult {
    checkK(k);
    const eps = searchEps(options);
    const leaves = searchLeaves(options, this.defaultLeaves);
    const order = searchOrder(options, this.defaultOrder);
    const { rows, cols, stride, data } = queries;
    if (cols !== this.dim) {
      throw badInput(`queries.cols must equal dim = ${this.dim}, but is ${cols}`);
    }
    if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(stride) || stride < cols) {
      throw badInput(`queries must have rows >= 0 and stride >= cols, but has ${rows}, ${stride}`);
    }
    if (!(data instanceof Float32Array) || (rows > 0 && data.length < (rows - 1) * stride + cols)) {
      throw badInput("queries.data must be a Float32Array holding rows * stride floats");
    }
    let result: KnnResult;
    if (out === undefined) {
      result = { rows, k, ids: new Int32Array(rows * k), scores: new Float32Array(rows * k) };
    } else {
      if (
        out.rows !== rows ||
        out.k !== k ||
        out.ids.length < rows * k ||
        out.scores.length < rows * k
      ) {
        throw badInput(
          `out must have rows = ${rows} and k = ${k} (ids and scores of ${rows * k}), but has rows = ${out.rows}, k = ${out.k}`,
        );
      }
      result = out;
    }
    const want = Math.min(k, this.size);
    const missing = this.metric === "cosine" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    const { ids, scores } = result;
    for (let r = 0; r < rows; r++) {
      const base = r * k;
      const count = this.run(data, r * stride, want, eps, leaves, order, ids, scores, base);
      for (let j = count; j < k; j++) {
        ids[base + j] = -1;
        scores[base + j] = missing;
      }
    }
    return result;
  }

  /** Prepares the query at `src[srcOff ..]`, searches, and writes the scores. */
  private run(
    src: Float32Array,
    srcOff: number,
    want: number,
    eps: number,
    leaves: number,
    order: CandidateOrder,
    outIds: Int32Array,
    outScores: Float32Array,
    offset: number,
  ): number {
    if (!this.prepare(src, srcOff) || want === 0) return 0;
    const top = this.top;
    top.reset(want);
    this.collect(want, eps, leaves, order);
    if (this.drainedIds.length < want) {
      this.drainedIds = new Int32Array(want);
      this.drainedDist = new Float64Array(want);
    }
    const dist = this.drainedDist;
    const ids = this.drainedIds;
    const count = top.drainSorted(ids, dist, 0);
    const cosine = this.metric === "cosine";
    for (let j = 0; j < count; j++) {
      outIds[offset + j] = ids[j];
      // The selector holds -d (higher is better).
      outScores[offset + j] = cosine ? 1 + dist[j] / 2 : -dist[j];
    }
    return count;
  }

  /**
   * Copies the query into `this.query` (checking it is finite; normalised
   * for cosine). Returns false for an all-zero cosine query.
   */
  private prepare(src: Float32Array, srcOff: number): boolean {
    const q = this.query;
    const dim = this.dim;
    let sq = 0;
    for (let j = 0; j < dim; j++) {
      const v = src[srcOff + j];
      if (v - v !== 0) throw badInput(`query[${j}] must be finite, but is ${v}`);
      q[j] = v;
      sq += v * v;
    }
    if (this.metric === "cosine" && sq !== 1) {
      if (sq === 0) return false;
      const scale = 1 / Math.sqrt(sq);
      for (let j = 0; j < dim; j++) q[j] *= scale;
    }
    return true;
  }
}

/**
 * Checks a matrix of vectors for indexing: shape, finite values, and for
 * `cosine` unit rows (squared norm within 1e-4 of 1) or all-zero rows.
 * Throws an `AnnexmlError` `BAD_INPUT` naming the offending row.
 */
export function validateVectors(vectors: DenseMatrix, metric: AnnMetric, name = "vectors"): void {
  validateDense(vectors, name);
  const { rows, cols, stride, data } = vectors;
  if (cols < 1) throw badInput(`${name}.cols must be a positive integer, but is ${cols}`);
  for (let r = 0; r < rows; r++) {
    const base = r * stride;
    let sq = 0;
    for (let j = 0; j < cols; j++) {
      const v = data[base + j];
      if (v - v !== 0) throw badInput(`${name} row ${r} column ${j} must be finite, but is ${v}`);
      sq += v * v;
    }
    if (metric === "cosine" && sq !== 0 && Math.abs(sq - 1) > 1e-4) {
      throw badInput(
        `${name} row ${r} must be a unit vector (or zero) for the cosine metric, but its norm is ${Math.sqrt(sq)}; normalise the rows or use the l2 metric`,
      );
    }
  }
}

/** The exact index: scans every row. The oracle of the recall tests. */
export class BruteForceIndex extends BaseIndex {
  readonly kind = "bruteForce" as const;

  /**
   * Indexes `vectors`: the WebAssembly space copies them; the JavaScript
   * fallback reads them in place (do not modify them while the index is
   * used).
   */
  constructor(vectors: DenseMatrix, metric: AnnMetric, kernel: SpaceKernelChoice = "auto") {
    super(
      vectors.rows,
      vectors.cols,
      metric,
      createVectorSpace(vectors, {
        metric: "l2",
        capacity: Math.max(1, Math.min(vectors.rows, SCAN_CAPACITY)),
        kernel,
      }),
    );
  }

  /** Bytes of its own: the space (a copy of the vectors, or none in the JavaScript fallback). */
  get bytes(): number {
    return this.space.bytes;
  }

  protected collect(): void {
    const { space, top } = this;
    const out = space.out;
    const n = this.size;
    const chunk = space.capacity;
    // The pair is offered only when it can enter, saving most heap calls.
    let bound = Number.POSITIVE_INFINITY;
    for (let start = 0; start < n; start += chunk) {
      const count = Math.min(chunk, n - start);
      space.toRange(start, count);
      for (let t = 0; t < count; t++) {
        const d = out[t];
        if (d <= bound) {
          top.push(start + t, -d);
          bound = -top.threshold();
        }
      }
    }
    this.evaluations += n;
  }

  toArrays(): IndexArrays {
    return {
      version: INDEX_ARRAYS_VERSION,
      kind: "bruteForce",
      metric: this.metric,
      size: this.size,
      dim: this.dim,
      leafSize: 0,
      numEdges: 0,
      order: "best-first",
      leaves: 1,
      splitChildren: EMPTY_I32,
      splitNormals: EMPTY_F32,
      splitOffsets: EMPTY_F32,
      leafPtr: EMPTY_I32,
      leafRows: EMPTY_I32,
      edges: EMPTY_I32,
    };
  }
}

/**
 * Search scratch shared by every graph index of the thread (a search is
 * synchronous and never re-entrant, and each worker has its own module
 * instance), so many small indexes (one per partition and learner) cost one
 * set of buffers sized for the largest, not one each. (The visited stamps
 * are per index: they live next to the graph in the index's space.) Grows
 * (and so allocates) only when a larger index or more leaves than ever are
 * searched.
 */
export class SearchScratch {
  /** LIFO stack of evaluated candidates to expand (each row at most once per query). */
  stack = EMPTY_I32;
  /** Best-first's candidate min-heap. */
  candDist = new Float64Array(0);
  candIds = EMPTY_I32;
  /** Best-bin-first heap over tree nodes. */
  bbfDist = new Float64Array(0);
  bbfNode = EMPTY_I32;
  /** Leaves found by the descent. */
  leafList = EMPTY_I32;

  /** Makes room for an index of `rows` rows, `nodes` tree nodes and `leaves` leaves per query. */
  reserve(rows: number, nodes: number, leaves: number): void {
    if (this.stack.length < rows) {
      this.stack = new Int32Array(rows);
      this.candDist = new Float64Array(rows);
      this.candIds = new Int32Array(rows);
    }
    if (this.bbfDist.length < nodes) {
      this.bbfDist = new Float64Array(nodes);
      this.bbfNode = new Int32Array(nodes);
    }
    if (this.leafList.length < leaves) this.leafList = new Int32Array(leaves);
  }
}

/** The thread's one {@link SearchScratch}. */
export const searchScratch = new SearchScratch();

/**
 * The tree + kNN-graph index of ALGORITHM.md section 4. Built from
 * validated {@link IndexArrays} (see `buildIndex` / `indexFromArrays`).
 *
 * The vectors and the graph live in the index's `VectorSpace`
 * (`@annexml/knng`), which expands a row (its unseen neighbours, their
 * visited stamps and distances) in one kernel call. With `reorder`, rows
 * are renumbered in tree-leaf order ("internal ids") so that the rows one
 * query explores lie close together in memory. The split planes live in a
 * second, small space, so the descent's inner products run in the same
 * kernel. Results and {@link toArrays} always use the caller's row ids.
 */
export class GraphIndex extends BaseIndex {
  readonly kind = "graph" as const;
  private readonly leafSize: number;
  private readonly numEdges: number;
  /** Internal id -> caller's row id. */
  private readonly extIds: Int32Array;
  /** Rows of leaf l (internal ids): `leafMembers[leafPtr[l] .. leafPtr[l + 1] - 1]`. */
  private readonly leafMembers: Int32Array;
  private readonly leafPtr: Int32Array;
  private readonly leafRows: Int32Array;
  private readonly splitChildren: Int32Array;
  private readonly splitNormals: Float32Array;
  private readonly splitOffsets: Float32Array;
  /** The split normals (inner products with the query), or null without splits. */
  private readonly planes: VectorSpace | null;
  /** The caller's edges (caller's ids), for {@link toArrays}. */
  private readonly arrayEdges: Int32Array;
  /** Whether {@link arrayEdges} are in leaf order (see `toLeafOrder`). */
  private readonly edgesInLeafOrder: boolean;
  private readonly reordered: boolean;

  /**
   * Wraps checked arrays; `reorder` stores the vectors and graph in leaf
   * order (see the class comment). The WebAssembly space always copies
   * them, and then always in leaf order (the copy costs the same in any
   * order); the JavaScript fallback reads them in place without `reorder`.
   * Use `buildIndex` or `indexFromArrays`, which validate.
   */
  constructor(
    arrays: IndexArrays,
    vectors: DenseMatrix,
    reorder: boolean,
    kernel: SpaceKernelChoice = "auto",
    arena: SpaceArena | null = null,
    leafOrdered = false,
  ) {
    const n = arrays.size;
    const E = arrays.numEdges;
    const graph = { ids: arrays.edges, degree: E };
    // In a shared memory the space reads the caller's rows where they are
    // (no copy, so no leaf order). Otherwise the WebAssembly space copies
    // the vectors and graph anyway, so it always takes the leaf order,
    // which costs nothing more there. The search gives the same results in
    // either order: it visits the same rows in the same sequence, and its
    // heap and top-k compare distances and caller ids only.
    // With `leafOrdered` the caller's arrays are in leaf order already.
    const inPlace = arena !== null && kernel !== "js" && readsInPlace(vectors, graph, arena.memory);
    const copyInLeafOrder =
      !leafOrdered && !inPlace && (reorder || (kernel !== "js" && wasmSpaceAvailable()));
    const leafOrder = leafOrdered || copyInLeafOrder;
    // The graph lives next to the vectors, in internal ids: the kernel
    // expands a row (unseen neighbours and their distances) in one call.
    const space = createVectorSpace(vectors, {
      metric: "l2",
      capacity: Math.max(E, SEARCH_CAPACITY),
      kernel,
      order: copyInLeafOrder ? arrays.leafRows : undefined,
      graph,
      arena: inPlace ? (arena as SpaceArena) : undefined,
    });
    super(n, arrays.dim, arrays.metric, space);
    this.defaultOrder = arrays.order;
    this.defaultLeaves = arrays.leaves;
    this.leafSize = arrays.leafSize;
    this.numEdges = E;
    this.leafPtr = arrays.leafPtr;
    this.leafRows = arrays.leafRows;
    this.splitChildren = arrays.splitChildren;
    this.splitNormals = arrays.splitNormals;
    this.splitOffsets = arrays.splitOffsets;
    this.arrayEdges = arrays.edges;
    this.edgesInLeafOrder = leafOrdered;
    this.reordered = leafOrder;
    const splits = arrays.splitOffsets.length;
    this.planes =
      splits === 0
        ? null
        : createVectorSpace(
            { rows: splits, cols: arrays.dim, stride: arrays.dim, data: arrays.splitNormals },
            { metric: "ip", capacity: 1, kernel },
          );
    // Internal id i is position i in leafRows in leaf order, else row i.
    const identity = new Int32Array(n);
    for (let i = 0; i < n; i++) identity[i] = i;
    this.extIds = leafOrder ? arrays.leafRows : identity;
    this.leafMembers = leafOrder ? identity : arrays.leafRows;
  }

  /**
   * Whether the index holds the vectors and graph in tree-leaf order: with
   * `reorder`, and always with the WebAssembly kernel.
   */
  get reorder(): boolean {
    return this.reordered;
  }

  /**
   * Bytes of its own: the spaces (vectors, graph and visited stamps; split
   * planes; with their scratch) and the id map; not the caller's
   * {@link IndexArrays}, nor the per-thread search scratch.
   */
  get bytes(): number {
    const planes = this.planes === null ? 0 : this.planes.bytes;
    return this.space.bytes + planes + 4 * this.size; // + the identity id map
  }

  toArrays(): IndexArrays {
    const { size: n, dim, numEdges: E } = this;
    const edges = this.edgesInLeafOrder ? this.callerEdges() : this.arrayEdges;
    return {
      version: INDEX_ARRAYS_VERSION,
      kind: "graph",
      metric: this.metric,
      size: n,
      dim,
      leafSize: this.leafSize,
      numEdges: E,
      order: this.defaultOrder,
      leaves: this.defaultLeaves,
      splitChildren: this.splitChildren,
      splitNormals: this.splitNormals,
      splitOffsets: this.splitOffsets,
      leafPtr: this.leafPtr,
      leafRows: this.leafRows,
      edges,
    };
  }

  /** The leaf-ordered caller's edges back in the caller's row order and ids (a new array). */
  private callerEdges(): Int32Array {
    const { arrayEdges: from, extIds, numEdges: E } = this;
    const edges = new Int32Array(from.length);
    for (let i = 0; i < this.size; i++) {
      const to = extIds[i] * E;
      for (let j = 0; j < E; j++) {
        const e = from[i * E + j];
        edges[to + j] = e < 0 ? -1 : extIds[e];
      }
    }
    return edges;
  }

  protected collect(k: number, eps: number, leaves: number, order: CandidateOrder): void {
    const n = this.size;
    if (k >= n) {
      this.scanAll();
      return;
    }
    searchScratch.reserve(n, 2 * this.splitOffsets.length + 1, leaves);
    const epoch = this.space.nextEpoch();
    const found = this.descend(leaves);
    if (order === "lifo") this.exploreLifo(found, epoch, eps);
    else this.exploreBestFirst(found, epoch, eps);
  }

  /**
   * Descends to the leaf whose path always takes the nearer child centre;
   * with `count > 1`, goes on best-bin-first: the next descent starts at the
   * unexplored sibling whose centre hyperplane is nearest to the query
   * (largest distance to a crossed hyperplane on its path, smallest first).
   * Writes the leaves to `leafList`; returns how many.
   */
  private descend(count: number): number {
    const { splitChildren, splitOffsets, planes } = this;
    const leafList = searchScratch.leafList;
    if (planes === null) {
      leafList[0] = 0;
      return 1;
    }
    planes.setQuery(this.query);
    const dots = planes.out;
    const pd = searchScratch.bbfDist;
    const pn = searchScratch.bbfNode;
    let size = heapPush(pd, pn, 0, 0, 0);
    let found = 0;
    while (found < count && size > 0) {
      const penalty = pd[0];
      let node = pn[0];
      size = heapPop(pd, pn, size);
      while (node >= 0) {
        // Signed distance to the plane between the children's centres.
        planes.toRange(node, 1);
        const m = dots[0] - splitOffsets[node];
        const left = splitChildren[2 * node];
        const right = splitChildren[2 * node + 1];
        if (count > 1) {
          const far = m < 0 ? right : left;
          size = heapPush(pd, pn, size, Math.max(Math.abs(m), penalty), far);
        }
        node = m < 0 ? left : right;
      }
      leafList[found++] = ~node;
    }
    return found;
  }

  /** Every row, exactly ranked (k >= size). */
  private scanAll(): void {
    const { space, top, extIds } = this;
    const out = space.out;
    const n = this.size;
    const chunk = space.capacity;
    for (let start = 0; start < n; start += chunk) {
      const count = Math.min(chunk, n - start);
      space.toRange(start, count);
      for (let t = 0; t < count; t++) top.push(extIds[start + t], -out[t]);
    }
    this.evaluations += n;
  }

  /**
   * Evaluates the rows `space.ids[0 .. len)` in one kernel call and offers
   * them to the top k; with `seed`, also queues them all on best-first's
   * candidate heap of `size` entries. Returns the new heap size.
   */
  private evaluateLeafRows(len: number, seed: boolean, size: number): number {
    const { space, top, extIds } = this;
    const { ids, out } = space;
    space.toMany(len);
    const hd = searchScratch.candDist;
    const hi = searchScratch.candIds;
    let worst = -top.threshold();
    for (let t = 0; t < len; t++) {
      const d = out[t];
      if (d <= worst) {
        top.push(extIds[ids[t]], -d);
        worst = -top.threshold();
      }
      if (seed) size = heapPush(hd, hi, size, d, ids[t]);
    }
    this.evaluations += len;
    return size;
  }

  /**
   * Evaluates the rows of the descent's leaves (marking them seen) in as
   * few kernel calls as the space's capacity allows. Returns best-first's
   * heap size (0 when `seed` is false).
   */
  private evaluateLeaves(leaves: number, epoch: number, seed: boolean): number {
    const { leafMembers, leafPtr } = this;
    const leafList = searchScratch.leafList;
    const { ids, visited } = this.space;
    const capacity = this.space.capacity;
    let size = 0;
    let len = 0;
    for (let l = 0; l < leaves; l++) {
      const leaf = leafList[l];
      for (let p = leafPtr[leaf], end = leafPtr[leaf + 1]; p < end; p++) {
        const r = leafMembers[p];
        visited[r] = epoch;
        ids[len++] = r;
        if (len === capacity) {
          size = this.evaluateLeafRows(len, seed, size);
          len = 0;
        }
      }
    }
    if (len > 0) size = this.evaluateLeafRows(len, seed, size);
    return size;
  }

  /**
   * LIFO's expansion of internal row c: its unseen neighbours, in reverse
   * edge order, evaluated in one kernel call; each is offered to the top k
   * and pushed on the stack from `sp` when its distance is below
   * `slack * worst` right after its offer. Returns the new stack size.
   */
  private expandOntoStack(c: number, epoch: number, sp: number, slack: number): number {
    const { space, top, extIds } = this;
    const { ids, out } = space;
    const stack = searchScratch.stack;
    const fresh = space.expand(c, epoch, true);
    let worst = -top.threshold();
    for (let t = 0; t < fresh; t++) {
      const d = out[t];
      if (d <= worst) {
        top.push(extIds[ids[t]], -d);
        worst = -top.threshold();
      }
      if (d < worst * slack) stack[sp++] = ids[t];
    }
    this.evaluations += fresh;
    return sp;
  }

  /**
   * The original's depth-first exploration, batched: scan the leaves, then
   * a stack of candidates seeded with the leaf rows' unseen neighbours.
   * Expanding a row evaluates all its unseen neighbours in ONE kernel call
   * (as best-first and HNSW do), in reverse edge order: each is offered to
   * the top k and pushed when `d < (1 + eps) * worst` right after its offer
   * (worst: the k-th best distance so far; +Infinity until k rows are
   * held), so the nearest neighbour is popped (and expanded) first. The
   * leaf rows are expanded first, in order, so the last one's nearest
   * neighbour is on top. Rows are marked seen when evaluated, so each is
   * evaluated at most once and the stack never exceeds `size`.
   *
   * The original evaluates a candidate when it pops it, and expands it when
   * it is below the bound of that moment. Here all of a node's neighbours
   * are evaluated, and their expansion decided, when the node is expanded:
   * one kernel call per expansion instead of one per candidate. On the
   * bibtex projection this visits about 7 % fewer rows at `eps = 0` for a
   * recall@10 lower by about 0.015 (0.946 against 0.961); best-first, the
   * default order, is unchanged.
   */
  private exploreLifo(leaves: number, epoch: number, eps: number): void {
    const { leafMembers, leafPtr } = this;
    const { stack, leafList } = searchScratch;
    const slack = 1 + eps;
    this.evaluateLeaves(leaves, epoch, false);
    let sp = 0;
    for (let l = 0; l < leaves; l++) {
      const leaf = leafList[l];
      for (let p = leafPtr[leaf], end = leafPtr[leaf + 1]; p < end; p++) {
        sp = this.expandOntoStack(leafMembers[p], epoch, sp, slack);
      }
    }
    while (sp > 0) sp = this.expandOntoStack(stack[--sp], epoch, sp, slack);
  }

  /**
   * Best-first exploration: a min-heap of evaluated candidates, seeded with
   * the leaf rows; the nearest is expanded (all its unseen neighbours
   * evaluated in ONE kernel call, offered to the top k, and queued when
   * `d < (1 + eps) * (1 + BEST_FIRST_SLACK) * worst`) until the nearest
   * candidate is not below the bound.
   */
  private exploreBestFirst(leaves: number, epoch: number, eps: number): void {
    const { space, top, extIds } = this;
    const { ids, out } = space;
    const hd = searchScratch.candDist;
    const hi = searchScratch.candIds;
    const slack = (1 + eps) * (1 + BEST_FIRST_SLACK);
    let size = this.evaluateLeaves(leaves, epoch, true);
    let evals = 0;
    let worst = -top.threshold();
    while (size > 0) {
      const d = hd[0];
      if (!(d < worst * slack)) break;
      const c = hi[0];
      size = heapPop(hd, hi, size);
      const fresh = space.expand(c, epoch);
      for (let t = 0; t < fresh; t++) {
        const de = out[t];
        if (de <= worst) {
          top.push(extIds[ids[t]], -de);
          worst = -top.threshold();
        }
        if (de < worst * slack) size = heapPush(hd, hi, size, de, ids[t]);
      }
      evals += fresh;
    }
    this.evaluations += evals;
  }
}

/** Pushes `(d, id)` onto the min-heap of `size` entries; returns the new size. */
function heapPush(hd: Float64Array, hi: Int32Array, size: number, d: number, id: number): number {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (hd[parent] <= d) break;
    hd[i] = hd[parent];
    hi[i] = hi[parent];
    i = parent;
  }
  hd[i] = d;
  hi[i] = id;
  return size + 1;
}

/** Removes the minimum of the min-heap of `size` entries; returns the new size. */
function heapPop(hd: Float64Array, hi: Int32Array, size: number): number {
  const n = size - 1;
  if (n === 0) return 0;
  const d = hd[n];
  const id = hi[n];
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && hd[right] < hd[left] ? right : left;
    if (hd[child] >= d) break;
    hd[i] = hd[child];
    hi[i] = hi[child];
    i = child;
  }
  hd[i] = d;
  hi[i] = id;
  return n;
}
