import {
  badOption,
  compileWasm,
  type DenseMatrix,
  instantiateWasm,
  WASM_PAGE_BYTES,
  type WasmMemory,
} from "@annexml/sparse-io";
import { innerProduct, ipBlock, ipRow4, l2Block, l2Row4, squaredL2 } from "./kernels.js";
import { DISTANCE_SHARED_WASM_BASE64, DISTANCE_WASM_BASE64 } from "./wasm/distance-bytes.js";

/**
 * Dissimilarity of two dense vectors. `"l2"`: squared Euclidean distance,
 * smaller is better. `"ip"`: inner product, larger is better.
 */
export type DenseMetric = "l2" | "ip";

/** Throws an `AnnexmlError` `BAD_OPTION` unless `metric` is a {@link DenseMetric}. */
export function validateDenseMetric(metric: unknown): DenseMetric {
  if (metric !== "l2" && metric !== "ip") {
    throw badOption(`metric must be "l2" or "ip", but is ${JSON.stringify(metric)}`);
  }
  return metric;
}

/**
 * Which implementation computes a {@link VectorSpace}'s distances: `"wasm"`
 * (WebAssembly f32x4 SIMD, float32 arithmetic) or `"js"` (the scalar
 * kernels, double precision, results rounded to float32).
 */
export type SpaceKernel = "wasm" | "js";

/** `"auto"`: the WebAssembly kernel where it runs, else the JavaScript one. */
export type SpaceKernelChoice = "auto" | SpaceKernel;

/** Options of {@link createVectorSpace}. */
export interface VectorSpaceOptions {
  /** `"l2"` (squared Euclidean distance, default) or `"ip"` (inner product). */
  metric?: DenseMetric;
  /**
   * Entries of the `ids` / `out` scratch: the most distances one call
   * computes (`toMany` count, `toRange` count, `tile` ni * nj). Default 1024.
   */
  capacity?: number;
  /**
   * Stored row i is row `order[i]` of the source matrix (a permutation or
   * any selection of its rows; `order.length` rows are stored). Default:
   * all rows in their order.
   */
  order?: Int32Array;
  /** Default `"auto"`. */
  kernel?: SpaceKernelChoice;
  /**
   * A graph over the source rows to store with the vectors, for
   * {@link VectorSpace.expand}: row r's out-neighbours are
   * `ids[r * degree .. (r + 1) * degree)` (source row ids, -1 = none). With
   * `order` (which must then be a permutation) the space renumbers them to
   * stored rows. Raises `capacity` to at least `degree`.
   */
  graph?: SpaceGraph;
  /**
   * Read the rows and the graph in place, in the shared WebAssembly memory
   * of this thread's arena, instead of copying them: `vectors.data` and
   * `graph.ids` must be views of `arena.memory`'s buffer (their
   * `byteOffset` is their address there), the rows at a stride of a
   * multiple of 4 floats with zero padding. The
   * query slot, `ids`, `out` and the visited stamps come from the arena, so
   * spaces on several threads over the same rows share one copy of them.
   * Where {@link readsInPlace} says no (another layout, `order` given, the
   * `"js"` kernel, no shared-memory WebAssembly here), the space copies as
   * without an arena. The results are the same either way, bit for bit.
   */
  arena?: SpaceArena;
}

/** Pages a {@link SpaceArena} appends at a time (1 MiB). */
const ARENA_CHUNK_PAGES = 16;

/**
 * One thread's scratch in a shared WebAssembly memory (see
 * {@link VectorSpaceOptions.arena}): 16-byte aligned, zero-filled regions
 * of pages this thread appends to the memory. `grow` on a shared memory is
 * atomic, so two threads never get the same pages, and it detaches no
 * view, so the rows already in the memory stay where they are. Regions are
 * never freed (one arena per predictor: its spaces live as long as it).
 */
export class SpaceArena {
  private next = 0;
  private end = 0;
  /** Bytes appended to the memory so far. */
  bytes = 0;
  /** Bytes handed out so far (16-aligned regions). */
  used = 0;

  constructor(readonly memory: WasmMemory) {}

  /** The byte address of `bytes` fresh bytes, or -1 when the memory cannot grow. */
  alloc(bytes: number): number {
    const size = align16(Math.max(bytes, 1));
    if (this.next + size > this.end) {
      const pages = Math.max(ARENA_CHUNK_PAGES, Math.ceil(size / WASM_PAGE_BYTES));
      let old: number;
      try {
        old = this.memory.grow(pages);
      } catch {
        return -1;
      }
      this.next = old * WASM_PAGE_BYTES;
      this.end = this.next + pages * WASM_PAGE_BYTES;
      this.bytes += pages * WASM_PAGE_BYTES;
    }
    const at = this.next;
    this.next += size;
    this.used += size;
    return at;
  }
}

/**
 * Whether a space over `vectors` (and `graph`) with this `memory` reads
 * them in place (see {@link VectorSpaceOptions.arena}): the shared-memory
 * kernel runs here, the rows have a stride the kernel reads (a multiple
 * of 4 floats), and the rows and the
 * graph lie inside the memory on shared buffers. It cannot tell whether
 * the arrays really are views of this memory: the caller vouches for that.
 */
export function readsInPlace(
  vectors: DenseMatrix,
  graph: SpaceGraph | null,
  memory: WasmMemory,
): boolean {
  const size = memory.buffer.byteLength;
  const inside = (a: Float32Array | Int32Array, length: number) =>
    typeof SharedArrayBuffer !== "undefined" &&
    a.buffer instanceof SharedArrayBuffer &&
    a.byteOffset + length * 4 <= size;
  return (
    vectors.stride % 4 === 0 &&
    vectors.stride >= 4 &&
    inside(vectors.data, vectors.rows * vectors.stride) &&
    (graph === null || inside(graph.ids, vectors.rows * graph.degree)) &&
    compileWasm(DISTANCE_SHARED_WASM_BASE64) !== null
  );
}

/** A graph attached to a {@link VectorSpace} (see {@link VectorSpaceOptions.graph}). */
export interface SpaceGraph {
  ids: Int32Array;
  degree: number;
}

/** Defaults of {@link VectorSpaceOptions}. */
export const DEFAULT_VECTOR_SPACE_OPTIONS: Readonly<{
  metric: DenseMetric;
  capacity: number;
  kernel: SpaceKernelChoice;
}> = Object.freeze({ metric: "l2", capacity: 1024, kernel: "auto" });

/** Throws an `AnnexmlError` `BAD_OPTION` unless `kernel` is a {@link SpaceKernelChoice}. */
export function validateSpaceKernel(kernel: unknown): SpaceKernelChoice {
  if (kernel !== "auto" && kernel !== "wasm" && kernel !== "js") {
    throw badOption(`kernel must be "auto", "wasm" or "js", but is ${JSON.stringify(kernel)}`);
  }
  return kernel;
}

/**
 * A set of dense vectors, copied once into the memory its distance kernel
 * reads, with the scratch of its calls: distances from a query (the
 * {@link query} slot, or a stored row) to a list of stored rows
 * ({@link toMany}), to a range of rows ({@link toRange}, {@link toAll}),
 * all pairs of two row ranges ({@link tile}), and, with a graph attached,
 * the unseen neighbours of a row ({@link expand}). Results land in
 * {@link out}, as float32; entries from the call's count on are
 * unspecified afterwards.
 *
 * One instance per set of vectors; calls are synchronous and reuse the
 * scratch, so a space must not be used re-entrantly (one per worker). The
 * hot methods check only their counts, not the ids: ids must be stored
 * rows, `0 <= id < rows`.
 *
 * Results are deterministic for a given platform and kernel. The `"wasm"`
 * kernel sums in float32: one f32x4 accumulator per pair over the
 * dimensions in groups of 4, then the lanes as `(l0 + l2) + (l1 + l3)`;
 * every method gives a pair the same value, bit for bit, and
 * `d(x, y) = d(y, x)`. The `"js"` kernel sums in double, dimension by
 * dimension, and rounds to float32. The two may differ in the last bits;
 * callers rank the values as computed (ties to the lower id).
 */
export interface VectorSpace {
  readonly kernel: SpaceKernel;
  readonly metric: DenseMetric;
  /** Stored rows. */
  readonly rows: number;
  /** Dimension. */
  readonly cols: number;
  /** Floats per stored row in {@link data} (`cols` rounded up to a multiple of 4, at least 4), or the source's stride when the `"js"` space reads it in place. */
  readonly stride: number;
  /** Entries of {@link ids} and {@link out}. */
  readonly capacity: number;
  /** The stored rows (row i at `i * stride`; padding zero). Read-only except through {@link writeRow}. */
  readonly data: Float32Array;
  /** The query slot: `cols` floats used, the rest zero. Write it with {@link setQuery} or directly. */
  readonly query: Float32Array;
  /** Row ids for {@link toMany}, written by the caller. */
  readonly ids: Int32Array;
  /** Results of the last call. */
  readonly out: Float32Array;
  /** Bytes this space holds (the WebAssembly memory, the arena regions of an in-place space, or the JavaScript arrays it owns). */
  readonly bytes: number;
  /** Copies `cols` floats of `src` from `offset` into the query slot. */
  setQuery(src: Float32Array, offset?: number): void;
  /**
   * `out[t] = d(query, ids[t])` for `t < count` (`count <= capacity`). The
   * query is the query slot, or stored row `from` when `from >= 0`.
   */
  toMany(count: number, from?: number): void;
  /** `out[t] = d(query, start + t)` for `t < count` (`count <= capacity`). */
  toRange(start: number, count: number, from?: number): void;
  /** `out[r] = d(query, r)` for every stored row (needs `capacity >= rows`). */
  toAll(from?: number): void;
  /**
   * `out[i * nj + j] = d(i0 + i, j0 + j)` for `i < ni`, `j < nj` (stored
   * rows; `ni * nj <= capacity`): one block of the all-pairs matrix.
   */
  tile(i0: number, ni: number, j0: number, nj: number): void;
  /** Overwrites stored row r with `cols` floats of `src` from `offset`. */
  writeRow(r: number, src: Float32Array, offset?: number): void;
  /** Out-edges per row of the attached graph (0: none). */
  readonly degree: number;
  /** The attached graph in stored row ids (`rows * degree`, -1 = none; empty without a graph). */
  readonly edges: Int32Array;
  /**
   * Visited stamps of the graph walk: `rows + 1` entries, stamp
   * `visited[r] === epoch` meaning "row r seen in this walk" (the last
   * entry is the sentinel that edges of -1 map to). Callers mark rows seen
   * by writing the epoch; {@link expand} marks the rows it returns.
   */
  readonly visited: Int32Array;
  /**
   * The stamp of a new walk over the graph (stamps are never cleared per
   * walk, only when the counter wraps after 2^31 - 2 walks).
   */
  nextEpoch(): number;
  /**
   * Expands stored row r of the attached graph in ONE kernel call: its
   * neighbours not yet stamped with `epoch` go to `ids` (in edge order, or
   * reversed with `reverse`) and get the stamp, and their distances to the
   * query slot go to `out`. Returns how many. Needs a graph.
   */
  expand(r: number, epoch: number, reverse?: boolean): number;
}

interface DistanceExports {
  readonly memory: WasmMemory;
  init(
    query: number,
    rb: number,
    base: number,
    ids: number,
    out: number,
    ip: number,
    edges: number,
    eb: number,
    visited: number,
    rows: number,
  ): void;
  many(q: number, n: number): void;
  range(q: number, r0: number, n: number, o: number): void;
  tile(i0: number, ni: number, j0: number, nj: number): void;
  expand(r: number, epoch: number, reverse: number): number;
}

/** Whether the WebAssembly SIMD kernel runs here (compiles the module once per process). */
export function wasmSpaceAvailable(): boolean {
  return compileWasm(DISTANCE_WASM_BASE64) !== null;
}

/**
 * A {@link VectorSpace} over the rows of `vectors` (or `options.order`'s
 * rows): the WebAssembly kernel by default where it runs, else the
 * JavaScript one. The `"wasm"` space copies the rows (and the graph, with
 * its visited stamps) into its own linear memory: `rows * stride * 4` bytes
 * (+ `rows * (degree + 1) * 4` with a graph) plus `8 * capacity` of
 * scratch, rounded up to 64 KiB pages; with an `arena` it may read them in
 * place instead (see {@link VectorSpaceOptions.arena}). The `"js"` space
 * reads `vectors` and the graph in place unless `order` is given (then it
 * copies them). Throws
 * an `AnnexmlError` `BAD_OPTION` for bad options, and for `kernel: "wasm"`
 * where the kernel cannot run.
 */
export function createVectorSpace(
  vectors: DenseMatrix,
  options: VectorSpaceOptions = {},
): VectorSpace {
  const metric = validateDenseMetric(options.metric ?? DEFAULT_VECTOR_SPACE_OPTIONS.metric);
  let capacity = options.capacity ?? DEFAULT_VECTOR_SPACE_OPTIONS.capacity;
  if (!(Number.isSafeInteger(capacity) && capacity >= 1)) {
    throw badOption(`capacity must be a positive integer, but is ${capacity}`);
  }
  const kernel = validateSpaceKernel(options.kernel ?? DEFAULT_VECTOR_SPACE_OPTIONS.kernel);
  const order = options.order ?? null;
  if (order !== null) {
    if (!(order instanceof Int32Array)) throw badOption("order must be an Int32Array");
    for (let i = 0; i < order.length; i++) {
      if (!(order[i] >= 0 && order[i] < vectors.rows)) {
        throw badOption(
          `order must hold row ids in [0, ${vectors.rows}), but holds ${order[i]} at ${i}`,
        );
      }
    }
  }
  const graph = options.graph ?? null;
  if (graph !== null) {
    validateGraph(graph, vectors.rows, order);
    capacity = Math.max(capacity, graph.degree);
  }
  const layout = new Layout(vectors, order, graph, capacity);
  const arena = options.arena ?? null;
  if (arena !== null && !(arena instanceof SpaceArena))
    throw badOption("arena must be a SpaceArena");
  if (kernel !== "js") {
    const inPlace = arena !== null && order === null && readsInPlace(vectors, graph, arena.memory);
    // A full arena copies instead: the same rows in the same order, so the same results.
    const space =
      (inPlace ? WasmVectorSpace.inPlace(vectors, metric, layout, arena) : null) ??
      WasmVectorSpace.create(vectors, metric, layout);
    if (space !== null) return space;
    if (kernel === "wasm") {
      throw badOption(
        'kernel "wasm" is unavailable here (no WebAssembly SIMD, or the space\'s memory cannot be allocated)',
      );
    }
  }
  return new JsVectorSpace(vectors, metric, layout);
}

function validateGraph(graph: SpaceGraph, rows: number, order: Int32Array | null): void {
  const { ids, degree } = graph;
  if (!(Number.isSafeInteger(degree) && degree >= 1)) {
    throw badOption(`graph.degree must be a positive integer, but is ${degree}`);
  }
  if (!(ids instanceof Int32Array) || ids.length !== rows * degree) {
    throw badOption(`graph.ids must be an Int32Array of rows * degree = ${rows * degree} ids`);
  }
  for (let p = 0; p < ids.length; p++) {
    if (!(ids[p] >= -1 && ids[p] < rows)) {
      throw badOption(`graph.ids must hold row ids in [-1, ${rows}), but holds ${ids[p]} at ${p}`);
    }
  }
  if (order !== null) {
    const seen = new Uint8Array(rows);
    for (let i = 0; i < order.length; i++) seen[order[i]]++;
    for (let r = 0; r < rows; r++) {
      if (seen[r] !== 1)
        throw badOption("order must be a permutation of the rows when a graph is attached");
    }
  }
}

/** Floats per stored row: `cols` rounded up to a multiple of 4 (at least 4). */
function paddedWidth(cols: number): number {
  return Math.max(4, Math.ceil(cols / 4) * 4);
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** The stored shape of a space, and its byte layout in WebAssembly memory. */
class Layout {
  readonly rows: number;
  readonly width: number;
  readonly capacity: number;
  readonly degree: number;
  readonly order: Int32Array | null;
  readonly graph: SpaceGraph | null;
  // Byte addresses: query slot at 0, then ids, out (3 spare entries), rows, edges, visited.
  readonly query: number = 0;
  readonly ids: number;
  readonly out: number;
  readonly base: number;
  readonly edges: number;
  readonly visited: number;
  readonly bytes: number;

  constructor(
    vectors: DenseMatrix,
    order: Int32Array | null,
    graph: SpaceGraph | null,
    capacity: number,
  ) {
    this.rows = order === null ? vectors.rows : order.length;
    this.width = paddedWidth(vectors.cols);
    this.capacity = capacity;
    this.degree = graph === null ? 0 : graph.degree;
    this.order = order;
    this.graph = graph;
    this.ids = this.width * 4;
    this.out = this.ids + align16(capacity * 4);
    this.base = this.out + align16((capacity + 3) * 4);
    this.edges = this.base + this.rows * this.width * 4;
    this.visited = this.edges + align16(this.rows * this.degree * 4);
    this.bytes = this.visited + (graph === null ? 0 : (this.rows + 1) * 4);
  }
}

/** Copies the rows (`order`'s, or all) into `data` at stride `width`. */
function copyRows(vectors: DenseMatrix, layout: Layout, data: Float32Array): void {
  const { cols, stride, data: src } = vectors;
  const { rows, order, width } = layout;
  for (let i = 0; i < rows; i++) {
    const from = (order === null ? i : order[i]) * stride;
    const to = i * width;
    for (let d = 0; d < cols; d++) data[to + d] = src[from + d];
  }
}

/** Copies the graph into `edges` in stored row ids (renumbered through `order`). */
function copyEdges(layout: Layout, edges: Int32Array): void {
  const { rows, order, graph, degree } = layout;
  if (graph === null) return;
  const ids = graph.ids;
  if (order === null) {
    edges.set(ids);
    return;
  }
  const inv = new Int32Array(rows);
  for (let i = 0; i < rows; i++) inv[order[i]] = i;
  for (let i = 0; i < rows; i++) {
    const from = order[i] * degree;
    for (let j = 0; j < degree; j++) {
      const e = ids[from + j];
      edges[i * degree + j] = e < 0 ? -1 : inv[e];
    }
  }
}

/** Visited-stamp bookkeeping shared by both spaces. */
function nextEpochOf(space: { epoch: number; visited: Int32Array; rows: number }): number {
  let epoch = space.epoch + 1;
  if (epoch === 0x7fffffff) {
    space.visited.fill(0);
    epoch = 1;
  }
  space.epoch = epoch;
  if (space.visited.length > space.rows) space.visited[space.rows] = epoch; // the sentinel
  return epoch;
}

const NO_GRAPH = new Int32Array(0);

/** The argument checks both kernels share (the WASM one must never read out of bounds). */
function checkCount(space: { capacity: number }, count: number): void {
  if (!(count <= space.capacity)) {
    throw badOption(`count must be <= capacity, but is ${count}`);
  }
}

function checkRange(space: { capacity: number; rows: number }, start: number, count: number): void {
  if (!(count <= space.capacity && start >= 0 && start + count <= space.rows)) {
    throw badOption(`rows ${start} .. ${start + count - 1} must be stored rows within capacity`);
  }
}

function checkTile(
  space: { capacity: number; rows: number },
  i0: number,
  ni: number,
  j0: number,
  nj: number,
): void {
  const inside = i0 >= 0 && j0 >= 0 && i0 + ni <= space.rows && j0 + nj <= space.rows;
  if (!(ni * nj <= space.capacity && inside)) {
    throw badOption(`tile ${i0} + ${ni} x ${j0} + ${nj} must hold stored rows within capacity`);
  }
}

/** Byte addresses of a WebAssembly space's parts in its memory. */
type Addresses = Pick<Layout, "width" | "query" | "ids" | "out" | "base" | "edges" | "visited">;

/**
 * The f32x4 WebAssembly space: in its own memory (layout: see
 * {@link Layout}), or in place in a shared one (see {@link SpaceArena}).
 */
class WasmVectorSpace implements VectorSpace {
  readonly kernel = "wasm" as const;
  readonly metric: DenseMetric;
  readonly rows: number;
  readonly cols: number;
  readonly stride: number;
  readonly capacity: number;
  readonly degree: number;
  readonly data: Float32Array;
  readonly query: Float32Array;
  readonly ids: Int32Array;
  readonly out: Float32Array;
  readonly edges: Int32Array;
  readonly visited: Int32Array;
  readonly bytes: number;
  epoch = 0;
  private readonly ex: DistanceExports;
  /** Byte address of stored row 0, and bytes per row. */
  private readonly base: number;
  private readonly rb: number;
  private readonly outAddr: number;
  private readonly queryAddr: number;

  static create(vectors: DenseMatrix, metric: DenseMetric, layout: Layout): WasmVectorSpace | null {
    const module = compileWasm(DISTANCE_WASM_BASE64);
    if (module === null) return null;
    if (layout.bytes > 2 ** 32 - WASM_PAGE_BYTES) return null;
    const instance = instantiateWasm(module);
    if (instance === null) return null;
    const ex = instance.exports as unknown as DistanceExports;
    const pages = Math.ceil(layout.bytes / WASM_PAGE_BYTES);
    try {
      if (pages > 0) ex.memory.grow(pages);
    } catch {
      return null;
    }
    return new WasmVectorSpace(vectors, metric, layout, layout, ex, pages * WASM_PAGE_BYTES, true);
  }

  /** A space reading `vectors` and the graph where they are, its scratch from `arena`. */
  static inPlace(
    vectors: DenseMatrix,
    metric: DenseMetric,
    layout: Layout,
    arena: SpaceArena,
  ): WasmVectorSpace | null {
    const module = compileWasm(DISTANCE_SHARED_WASM_BASE64);
    if (module === null) return null;
    const instance = instantiateWasm(module, { env: { memory: arena.memory } });
    if (instance === null) return null;
    const before = arena.used;
    const { capacity, graph } = layout;
    // Rows padded wider than the kernel needs sum the same: + 0 is exact.
    const width = vectors.stride;
    const at: Addresses = {
      width,
      query: arena.alloc(width * 4),
      ids: arena.alloc(capacity * 4),
      out: arena.alloc((capacity + 3) * 4),
      base: vectors.data.byteOffset,
      edges: graph === null ? 0 : graph.ids.byteOffset,
      visited: graph === null ? 0 : arena.alloc((layout.rows + 1) * 4),
    };
    if (at.query < 0 || at.ids < 0 || at.out < 0 || at.visited < 0) return null;
    const ex = instance.exports as unknown as DistanceExports;
    return new WasmVectorSpace(vectors, metric, layout, at, ex, arena.used - before, false);
  }

  private constructor(
    vectors: DenseMatrix,
    metric: DenseMetric,
    layout: Layout,
    at: Addresses,
    ex: DistanceExports,
    bytes: number,
    copy: boolean,
  ) {
    this.metric = metric;
    this.rows = layout.rows;
    this.cols = vectors.cols;
    this.stride = at.width;
    this.capacity = layout.capacity;
    this.degree = layout.degree;
    this.ex = ex;
    this.base = at.base;
    this.rb = at.width * 4;
    this.outAddr = at.out;
    this.queryAddr = at.query;
    this.bytes = bytes;
    // A memory of its own never grows again, and a shared one never
    // detaches its buffer, so these views stay valid.
    const buffer = ex.memory.buffer;
    this.query = new Float32Array(buffer, at.query, at.width);
    this.ids = new Int32Array(buffer, at.ids, layout.capacity);
    this.out = new Float32Array(buffer, at.out, layout.capacity);
    this.data = new Float32Array(buffer, at.base, layout.rows * at.width);
    if (copy) copyRows(vectors, layout, this.data);
    if (layout.graph === null) {
      this.edges = NO_GRAPH;
      this.visited = NO_GRAPH;
    } else {
      this.edges = new Int32Array(buffer, at.edges, layout.rows * layout.degree);
      this.visited = new Int32Array(buffer, at.visited, layout.rows + 1);
      if (copy) copyEdges(layout, this.edges);
    }
    ex.init(
      at.query,
      at.width * 4,
      at.base,
      at.ids,
      at.out,
      metric === "ip" ? 1 : 0,
      at.edges,
      layout.degree * 4,
      at.visited,
      layout.rows,
    );
  }

  setQuery(src: Float32Array, offset = 0): void {
    const q = this.query;
    for (let d = 0, n = this.cols; d < n; d++) q[d] = src[offset + d];
  }

  toMany(count: number, from = -1): void {
    checkCount(this, count);
    this.ex.many(from < 0 ? this.queryAddr : this.base + from * this.rb, count);
  }

  toRange(start: number, count: number, from = -1): void {
    checkRange(this, start, count);
    this.ex.range(
      from < 0 ? this.queryAddr : this.base + from * this.rb,
      start,
      count,
      this.outAddr,
    );
  }

  toAll(from = -1): void {
    this.toRange(0, this.rows, from);
  }

  tile(i0: number, ni: number, j0: number, nj: number): void {
    checkTile(this, i0, ni, j0, nj);
    this.ex.tile(i0, ni, j0, nj);
  }

  writeRow(r: number, src: Float32Array, offset = 0): void {
    const data = this.data;
    for (let d = 0, at = r * this.stride; d < this.cols; d++) data[at + d] = src[offset + d];
  }

  nextEpoch(): number {
    return nextEpochOf(this);
  }

  expand(r: number, epoch: number, reverse = false): number {
    if (this.degree === 0) throw badOption("expand needs a graph attached to the space");
    return this.ex.expand(r, epoch, reverse ? 1 : 0);
  }
}

/** The scalar JavaScript space (double sums, float32 results). */
class JsVectorSpace implements VectorSpace {
  readonly kernel = "js" as const;
  readonly metric: DenseMetric;
  readonly rows: number;
  readonly cols: number;
  readonly stride: number;
  readonly capacity: number;
  readonly degree: number;
  readonly data: Float32Array;
  readonly query: Float32Array;
  readonly ids: Int32Array;
  readonly out: Float32Array;
  readonly edges: Int32Array;
  readonly visited: Int32Array;
  readonly bytes: number;
  epoch = 0;
  private readonly ip: boolean;
  /** The 2 x 2 block kernel's results. */
  private readonly block4 = new Float64Array(4);

  constructor(vectors: DenseMatrix, metric: DenseMetric, layout: Layout) {
    this.metric = metric;
    this.ip = metric === "ip";
    this.cols = vectors.cols;
    this.rows = layout.rows;
    this.capacity = layout.capacity;
    this.degree = layout.degree;
    const width = layout.width;
    this.query = new Float32Array(width);
    this.ids = new Int32Array(layout.capacity);
    this.out = new Float32Array(layout.capacity);
    let owned = width * 4 + layout.capacity * 8;
    if (layout.order === null) {
      this.stride = vectors.stride;
      this.data = vectors.data;
    } else {
      this.stride = width;
      this.data = new Float32Array(this.rows * width);
      copyRows(vectors, layout, this.data);
      owned += this.data.byteLength;
    }
    if (layout.graph === null) {
      this.edges = NO_GRAPH;
      this.visited = NO_GRAPH;
    } else {
      if (layout.order === null) {
        this.edges = layout.graph.ids;
      } else {
        this.edges = new Int32Array(this.rows * this.degree);
        copyEdges(layout, this.edges);
        owned += this.edges.byteLength;
      }
      this.visited = new Int32Array(this.rows + 1);
      owned += this.visited.byteLength;
    }
    this.bytes = owned;
  }

  setQuery(src: Float32Array, offset = 0): void {
    const q = this.query;
    for (let d = 0, n = this.cols; d < n; d++) q[d] = src[offset + d];
  }

  toMany(count: number, from = -1): void {
    checkCount(this, count);
    const { data, stride, cols, ids, out } = this;
    const x = from < 0 ? this.query : data;
    const a = from < 0 ? 0 : from * stride;
    const row4 = this.ip ? ipRow4 : l2Row4;
    const pair = this.ip ? innerProduct : squaredL2;
    let t = 0;
    for (; t + 3 < count; t += 4) {
      row4(
        x,
        a,
        data,
        ids[t] * stride,
        ids[t + 1] * stride,
        ids[t + 2] * stride,
        ids[t + 3] * stride,
        cols,
        out,
        t,
      );
    }
    for (; t < count; t++) out[t] = pair(x, a, data, ids[t] * stride, cols);
  }

  toRange(start: number, count: number, from = -1): void {
    checkRange(this, start, count);
    const x = from < 0 ? this.query : this.data;
    this.range(x, from < 0 ? 0 : from * this.stride, start, count, 0);
  }

  toAll(from = -1): void {
    this.toRange(0, this.rows, from);
  }

  tile(i0: number, ni: number, j0: number, nj: number): void {
    checkTile(this, i0, ni, j0, nj);
    // Two rows against two rows at a time: the 2 x 2 pairs share their loads.
    const { data, stride, cols, out } = this;
    const block = this.ip ? ipBlock : l2Block;
    const pair = this.ip ? innerProduct : squaredL2;
    const b4 = this.block4;
    let i = 0;
    for (; i + 1 < ni; i += 2) {
      const a0 = (i0 + i) * stride;
      const a1 = a0 + stride;
      const o0 = i * nj;
      const o1 = o0 + nj;
      let j = 0;
      for (; j + 1 < nj; j += 2) {
        const b0 = (j0 + j) * stride;
        block(data, a0, a1, data, b0, b0 + stride, cols, b4);
        out[o0 + j] = b4[0];
        out[o0 + j + 1] = b4[1];
        out[o1 + j] = b4[2];
        out[o1 + j + 1] = b4[3];
      }
      if (j < nj) {
        const b = (j0 + j) * stride;
        out[o0 + j] = pair(data, a0, data, b, cols);
        out[o1 + j] = pair(data, a1, data, b, cols);
      }
    }
    if (i < ni) this.range(data, (i0 + i) * stride, j0, nj, i * nj);
  }

  writeRow(r: number, src: Float32Array, offset = 0): void {
    const data = this.data;
    for (let d = 0, at = r * this.stride; d < this.cols; d++) data[at + d] = src[offset + d];
  }

  nextEpoch(): number {
    return nextEpochOf(this);
  }

  expand(r: number, epoch: number, reverse = false): number {
    const E = this.degree;
    if (E === 0) throw badOption("expand needs a graph attached to the space");
    const { edges, visited, ids } = this;
    let fresh = 0;
    for (let t = 0; t < E; t++) {
      const e = edges[r * E + (reverse ? E - 1 - t : t)];
      if (e < 0 || visited[e] === epoch) continue;
      visited[e] = epoch;
      ids[fresh++] = e;
    }
    this.toMany(fresh);
    return fresh;
  }

  /** `out[o + t] = d(x at a, start + t)`. */
  private range(x: Float32Array, a: number, start: number, count: number, o: number): void {
    const { data, stride, cols, out } = this;
    const row4 = this.ip ? ipRow4 : l2Row4;
    const pair = this.ip ? innerProduct : squaredL2;
    let t = 0;
    let b = start * stride;
    for (; t + 3 < count; t += 4, b += 4 * stride) {
      row4(x, a, data, b, b + stride, b + 2 * stride, b + 3 * stride, cols, out, o + t);
    }
    for (; t < count; t++, b += stride) out[o + t] = pair(x, a, data, b, cols);
  }
}
