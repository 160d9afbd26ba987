import type { DenseMatrix, KnnResult } from "@annexml/sparse-io";
import { TopK } from "@annexml/sparse-io";
import { innerProduct, kernelWidth, squaredDistance } from "./kernel.js";
import type { AnnIndexKind, AnnMetric, CandidateOrder, SearchOptions } from "./options.js";
import { searchEps, searchLeaves, searchOrder } from "./options.js";
import type { AnnIndex, IndexArrays } from "./types.js";
import { INDEX_ARRAYS_VERSION } from "./types.js";

const EMPTY_I32 = new Int32Array(0);
const EMPTY_F32 = new Float32Array(0);

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

/** Throws a `RangeError` unless `k` is a non-negative integer. */
function checkK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 0) {
    throw new RangeError(`k must be a non-negative integer, but is ${String(k)}`);
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
  /** Receives the prefetch loads so they are not optimised away. */
  protected sink = 0;
  /** Floats per row the kernels read (see `kernelWidth`). */
  protected readonly width: number;
  /** The prepared query, zero-padded to `width`. */
  protected readonly query: Float32Array;
  protected readonly top = new TopK(16);
  /** What `top` drains into, before conversion to scores. */
  private drainedIds = new Int32Array(16);
  private drainedDist = new Float64Array(16);
  /** Default `leaves` of the searches. */
  protected defaultLeaves = 1;
  /** Default candidate order of the searches. */
  protected defaultOrder: CandidateOrder = "best-first";

  constructor(size: number, dim: number, metric: AnnMetric, width: number) {
    this.size = size;
    this.dim = dim;
    this.metric = metric;
    this.width = width;
    this.query = new Float32Array(width);
  }

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
      throw new TypeError("query must be a Float32Array");
    }
    if (query.length < this.dim) {
      throw new RangeError(
        `query must have at least dim = ${this.dim} entries, but has ${query.length}`,
      );
    }
    const want = Math.min(k, this.size);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`offset must be a non-negative integer, but is ${String(offset)}`);
    }
    if (outIds.length < offset + want || outScores.length < offset + want) {
      throw new RangeError(
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
      throw new RangeError(`queries.cols must equal dim = ${this.dim}, but is ${cols}`);
    }
    if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(stride) || stride < cols) {
      throw new RangeError(
        `queries must have rows >= 0 and stride >= cols, but has ${rows}, ${stride}`,
      );
    }
    if (!(data instanceof Float32Array) || (rows > 0 && data.length < (rows - 1) * stride + cols)) {
      throw new RangeError("queries.data must be a Float32Array holding rows * stride floats");
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
        throw new RangeError(
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
      if (v - v !== 0) throw new RangeError(`query[${j}] must be finite, but is ${v}`);
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
 * Throws a `RangeError` naming the offending row.
 */
export function validateVectors(vectors: DenseMatrix, metric: AnnMetric, name = "vectors"): void {
  if (vectors === null || typeof vectors !== "object") {
    throw new TypeError(`${name} must be a DenseMatrix {rows, cols, stride, data}`);
  }
  const { rows, cols, stride, data } = vectors;
  if (!Number.isSafeInteger(rows) || rows < 0) {
    throw new RangeError(`${name}.rows must be a non-negative integer, but is ${String(rows)}`);
  }
  if (!Number.isSafeInteger(cols) || cols < 1) {
    throw new RangeError(`${name}.cols must be a positive integer, but is ${String(cols)}`);
  }
  if (!Number.isSafeInteger(stride) || stride < cols) {
    throw new RangeError(
      `${name}.stride must be an integer >= cols (${cols}), but is ${String(stride)}`,
    );
  }
  if (!(data instanceof Float32Array)) throw new TypeError(`${name}.data must be a Float32Array`);
  if (rows > 0 && data.length < (rows - 1) * stride + cols) {
    throw new RangeError(
      `${name}.data must hold ${rows} rows of stride ${stride}, but has ${data.length} floats`,
    );
  }
  for (let r = 0; r < rows; r++) {
    const base = r * stride;
    let sq = 0;
    for (let j = 0; j < cols; j++) {
      const v = data[base + j];
      if (v - v !== 0)
        throw new RangeError(`${name} row ${r} column ${j} must be finite, but is ${v}`);
      sq += v * v;
    }
    if (metric === "cosine" && sq !== 0 && Math.abs(sq - 1) > 1e-4) {
      throw new RangeError(
        `${name} row ${r} must be a unit vector (or zero) for the cosine metric, but its norm is ${Math.sqrt(sq)}; normalise the rows or use the l2 metric`,
      );
    }
  }
}

/** The exact index: scans every row. The oracle of the recall tests. */
export class BruteForceIndex extends BaseIndex {
  readonly kind = "bruteForce" as const;
  private readonly data: Float32Array;
  private readonly stride: number;

  /** Indexes `vectors` in place (no copy; do not modify them while the index is used). */
  constructor(vectors: DenseMatrix, metric: AnnMetric) {
    super(
      vectors.rows,
      vectors.cols,
      metric,
      kernelWidth(vectors.data, vectors.rows, vectors.cols, vectors.stride),
    );
    this.data = vectors.data;
    this.stride = vectors.stride;
  }

  protected collect(): void {
    const { data, stride, width, query, top } = this;
    const n = this.size;
    // The pair is offered only when it can enter, saving most heap calls.
    let bound = Number.POSITIVE_INFINITY;
    for (let r = 0; r < n; r++) {
      const d = squaredDistance(query, 0, data, r * stride, width);
      if (d <= bound) {
        top.push(r, -d);
        bound = -top.threshold();
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
 * set of buffers sized for the largest, not one each. The visited set is a
 * `Uint32Array` stamped with a per-query epoch: never cleared per query,
 * only when the epoch wraps around after 2^32 - 2 queries. Grows (and so
 * allocates) only when a larger index or more leaves than ever are searched.
 */
export class SearchScratch {
  visited = new Uint32Array(0);
  epoch = 0;
  /** LIFO stack, or best-first's batch of fresh neighbours (each row at most once per query). */
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
    if (this.visited.length < rows) {
      // Fresh zeros never equal a current epoch (epochs start at 1).
      this.visited = new Uint32Array(rows);
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

  /** The stamp of a new query. */
  nextEpoch(): number {
    let epoch = this.epoch + 1;
    if (epoch === 0xffffffff) {
      this.visited.fill(0);
      epoch = 1;
    }
    this.epoch = epoch;
    return epoch;
  }
}

/** The thread's one {@link SearchScratch}. */
export const searchScratch = new SearchScratch();

/**
 * The tree + kNN-graph index of ALGORITHM.md section 4. Built from
 * validated {@link IndexArrays} (see `buildIndex` / `indexFromArrays`).
 *
 * Internally rows may be renumbered in tree-leaf order ("internal ids")
 * with a private copy of the vectors, so that the rows one query explores
 * lie close together in memory; results and {@link toArrays} always use
 * the caller's row ids.
 */
export class GraphIndex extends BaseIndex {
  readonly kind = "graph" as const;
  private readonly leafSize: number;
  private readonly numEdges: number;
  private readonly data: Float32Array;
  private readonly stride: number;
  /** Internal id -> caller's row id. */
  private readonly extIds: Int32Array;
  /** Rows of leaf l (internal ids): `leafMembers[leafPtr[l] .. leafPtr[l + 1] - 1]`. */
  private readonly leafMembers: Int32Array;
  private readonly leafPtr: Int32Array;
  private readonly leafRows: Int32Array;
  private readonly splitChildren: Int32Array;
  /** `width` floats per split node (zero-padded copy when width > dim). */
  private readonly splitNormals: Float32Array;
  private readonly splitOffsets: Float32Array;
  /** `size * numEdges` internal ids. */
  private readonly edges: Int32Array;
  private readonly reordered: boolean;

  /**
   * Wraps checked arrays; `reorder` copies the vectors in leaf order (see
   * the class comment). Use `buildIndex` or `indexFromArrays`, which
   * validate.
   */
  constructor(arrays: IndexArrays, vectors: DenseMatrix, reorder: boolean) {
    const n = arrays.size;
    const dim = arrays.dim;
    const width = reorder
      ? (dim + 3) & ~3
      : kernelWidth(vectors.data, vectors.rows, vectors.cols, vectors.stride);
    super(n, dim, arrays.metric, width);
    this.defaultOrder = arrays.order;
    this.defaultLeaves = arrays.leaves;
    this.leafSize = arrays.leafSize;
    this.numEdges = arrays.numEdges;
    this.leafPtr = arrays.leafPtr;
    this.leafRows = arrays.leafRows;
    this.splitChildren = arrays.splitChildren;
    this.splitOffsets = arrays.splitOffsets;
    this.reordered = reorder;
    const E = arrays.numEdges;
    const splits = arrays.splitOffsets.length;
    if (width === dim) {
      this.splitNormals = arrays.splitNormals;
    } else {
      const normals = new Float32Array(splits * width);
      for (let s = 0; s < splits; s++) {
        normals.set(arrays.splitNormals.subarray(s * dim, (s + 1) * dim), s * width);
      }
      this.splitNormals = normals;
    }
    if (reorder) {
      // Internal id i = position i in leafRows.
      const leafRows = arrays.leafRows;
      const inv = new Int32Array(n);
      for (let i = 0; i < n; i++) inv[leafRows[i]] = i;
      const data = new Float32Array(n * width);
      const src = vectors.data;
      const vs = vectors.stride;
      for (let i = 0; i < n; i++) {
        const base = leafRows[i] * vs;
        data.set(src.subarray(base, base + dim), i * width);
      }
      const edges = new Int32Array(n * E);
      const ext = arrays.edges;
      for (let i = 0; i < n; i++) {
        const from = leafRows[i] * E;
        for (let j = 0; j < E; j++) {
          const e = ext[from + j];
          edges[i * E + j] = e < 0 ? -1 : inv[e];
        }
      }
      const identity = new Int32Array(n);
      for (let i = 0; i < n; i++) identity[i] = i;
      this.data = data;
      this.stride = width;
      this.edges = edges;
      this.extIds = leafRows;
      this.leafMembers = identity;
    } else {
      const identity = new Int32Array(n);
      for (let i = 0; i < n; i++) identity[i] = i;
      this.data = vectors.data;
      this.stride = vectors.stride;
      this.edges = arrays.edges;
      this.extIds = identity;
      this.leafMembers = arrays.leafRows;
    }
  }

  /** Whether the index keeps its own leaf-ordered copy of the vectors. */
  get reorder(): boolean {
    return this.reordered;
  }

  toArrays(): IndexArrays {
    const { size: n, dim, width, numEdges: E } = this;
    let edges = this.edges;
    if (this.reordered) {
      edges = new Int32Array(n * E);
      const ext = this.extIds;
      for (let i = 0; i < n; i++) {
        const to = ext[i] * E;
        for (let j = 0; j < E; j++) {
          const e = this.edges[i * E + j];
          edges[to + j] = e < 0 ? -1 : ext[e];
        }
      }
    }
    let normals = this.splitNormals;
    if (width !== dim) {
      const splits = this.splitOffsets.length;
      normals = new Float32Array(splits * dim);
      for (let s = 0; s < splits; s++) {
        normals.set(this.splitNormals.subarray(s * width, s * width + dim), s * dim);
      }
    }
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
      splitNormals: normals,
      splitOffsets: this.splitOffsets,
      leafPtr: this.leafPtr,
      leafRows: this.leafRows,
      edges,
    };
  }

  protected collect(k: number, eps: number, leaves: number, order: CandidateOrder): void {
    const n = this.size;
    if (k >= n) {
      this.scanAll();
      return;
    }
    const scratch = searchScratch;
    scratch.reserve(n, 2 * this.splitOffsets.length + 1, leaves);
    const epoch = scratch.nextEpoch();
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
    const { splitChildren, splitNormals, splitOffsets, width, query } = this;
    const leafList = searchScratch.leafList;
    if (splitOffsets.length === 0) {
      leafList[0] = 0;
      return 1;
    }
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
        const m = innerProduct(query, 0, splitNormals, node * width, width) - splitOffsets[node];
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

  private scanAll(): void {
    const { data, stride, width, query, top, extIds } = this;
    const n = this.size;
    for (let r = 0; r < n; r++) {
      top.push(extIds[r], -squaredDistance(query, 0, data, r * stride, width));
    }
    this.evaluations += n;
  }

  /**
   * The original's exploration: scan the leaves, then a stack of candidates
   * seeded with the leaf rows' neighbours; a popped candidate is evaluated,
   * offered to the top k, and when `d < (1 + eps) * worst` (worst after the
   * offer; +Infinity until k rows are held) its unseen neighbours are pushed
   * in reverse, so the nearest neighbour is taken first. Rows are marked
   * seen when pushed, so each is evaluated at most once and the stack never
   * exceeds `size`.
   */
  private exploreLifo(leaves: number, epoch: number, eps: number): void {
    const { data, stride, width, query, top, extIds, edges, leafMembers, leafPtr } = this;
    const { visited, stack, leafList } = searchScratch;
    const E = this.numEdges;
    const slack = 1 + eps;
    let evals = 0;
    let worst = Number.POSITIVE_INFINITY;
    for (let l = 0; l < leaves; l++) {
      const leaf = leafList[l];
      for (let p = leafPtr[leaf]; p < leafPtr[leaf + 1]; p++) {
        const r = leafMembers[p];
        visited[r] = epoch;
        evals++;
        const d = squaredDistance(query, 0, data, r * stride, width);
        if (d <= worst) {
          top.push(extIds[r], -d);
          worst = -top.threshold();
        }
      }
    }
    let sp = 0;
    for (let l = 0; l < leaves; l++) {
      const leaf = leafList[l];
      for (let p = leafPtr[leaf]; p < leafPtr[leaf + 1]; p++) {
        const base = leafMembers[p] * E;
        for (let j = base + E - 1; j >= base; j--) {
          const e = edges[j];
          if (e >= 0 && visited[e] !== epoch) {
            visited[e] = epoch;
            stack[sp++] = e;
          }
        }
      }
    }
    while (sp > 0) {
      const c = stack[--sp];
      const d = squaredDistance(query, 0, data, c * stride, width);
      evals++;
      if (d <= worst) {
        top.push(extIds[c], -d);
        worst = -top.threshold();
      }
      if (d < worst * slack) {
        const base = c * E;
        for (let j = base + E - 1; j >= base; j--) {
          const e = edges[j];
          if (e >= 0 && visited[e] !== epoch) {
            visited[e] = epoch;
            stack[sp++] = e;
          }
        }
      }
    }
    this.evaluations += evals;
  }

  /**
   * Best-first exploration: a min-heap of evaluated candidates, seeded with
   * the leaf rows; the nearest is expanded (its unseen neighbours
   * evaluated, offered to the top k, and queued when
   * `d < (1 + eps) * worst`) until the nearest candidate is not below the
   * bound.
   */
  private exploreBestFirst(leaves: number, epoch: number, eps: number): void {
    const { data, stride, width, query, top, extIds, edges, leafMembers, leafPtr } = this;
    const { visited, leafList } = searchScratch;
    const hd = searchScratch.candDist;
    const hi = searchScratch.candIds;
    const batch = searchScratch.stack;
    const E = this.numEdges;
    const slack = (1 + eps) * (1 + BEST_FIRST_SLACK);
    // Offsets that touch every 64-byte line a row can span.
    const lineB = Math.min(16, width - 1);
    const lineC = Math.min(32, width - 1);
    const lineD = width - 1;
    let evals = 0;
    let size = 0;
    let touch = 0;
    let worst = Number.POSITIVE_INFINITY;
    for (let l = 0; l < leaves; l++) {
      const leaf = leafList[l];
      for (let p = leafPtr[leaf]; p < leafPtr[leaf + 1]; p++) {
        const r = leafMembers[p];
        visited[r] = epoch;
        evals++;
        const d = squaredDistance(query, 0, data, r * stride, width);
        if (d <= worst) {
          top.push(extIds[r], -d);
          worst = -top.threshold();
        }
        size = heapPush(hd, hi, size, d, r);
      }
    }
    while (size > 0) {
      const d = hd[0];
      if (!(d < worst * slack)) break;
      const c = hi[0];
      size = heapPop(hd, hi, size);
      const base = c * E;
      let fresh = 0;
      for (let j = base; j < base + E; j++) {
        const e = edges[j];
        if (e < 0 || visited[e] === epoch) continue;
        visited[e] = epoch;
        batch[fresh++] = e;
      }
      // Load one float of every cache line of the rows first: these loads are
      // independent, so their misses overlap instead of stalling each
      // distance in turn (JavaScript has no prefetch instruction).
      for (let t = 0; t < fresh; t++) {
        const o = batch[t] * stride;
        touch += data[o] + data[o + lineB] + data[o + lineC] + data[o + lineD];
      }
      for (let t = 0; t < fresh; t++) {
        const e = batch[t];
        const de = squaredDistance(query, 0, data, e * stride, width);
        if (de <= worst) {
          top.push(extIds[e], -de);
          worst = -top.threshold();
        }
        if (de < worst * slack) size = heapPush(hd, hi, size, de, e);
      }
      evals += fresh;
    }
    this.sink = touch;
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
