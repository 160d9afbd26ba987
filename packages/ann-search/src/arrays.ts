import { SpaceArena, type SpaceKernelChoice, validateSpaceKernel } from "@annexml/knng";
import type { DenseMatrix } from "@annexml/sparse-io";
import { badInput, badOption } from "@annexml/sparse-io";
import { BruteForceIndex, GraphIndex, validateVectors } from "./indexes.js";
import { DEFAULT_GRAPH_INDEX_OPTIONS, validateMetric, validateOrder } from "./options.js";
import type { AnnIndex, IndexArrays } from "./types.js";
import { INDEX_ARRAYS_VERSION } from "./types.js";

/** Options of {@link indexFromArrays}. */
export interface IndexFromArraysOptions {
  /** See `GraphIndexOptions.reorder`. Default true. */
  reorder?: boolean;
  /** See `GraphIndexOptions.kernel`. Default `"auto"`. */
  kernel?: SpaceKernelChoice;
  /**
   * A graph index whose vectors and edges are views of a shared
   * WebAssembly memory (`@annexml/knng`'s `SpaceArena`, one per thread):
   * its space reads them there instead of copying them (rows then stay in
   * the caller's order, whatever `reorder` says), so indexes on several
   * threads share one copy; the results are the same. Ignored by
   * brute-force indexes and where the vectors cannot be read in place.
   */
  arena?: SpaceArena;
  /**
   * The vectors' rows and `arrays.edges` were put in leaf order by
   * {@link toLeafOrder} (the layout the index's own copy would have): the
   * index reads them so, and its results and `toArrays` are in the
   * caller's row ids as ever. Graph indexes only.
   */
  leafOrdered?: boolean;
}

/**
 * Puts the rows of `vectors` and of `arrays.edges` in leaf order, in place
 * (row i becomes row `leafRows[i]`, the edges renumbered to match): the
 * layout a graph index's WebAssembly space copies them into, made once
 * where every thread can read it (e.g. in a shared WebAssembly memory; see
 * {@link IndexFromArraysOptions.leafOrdered}). Afterwards the two arrays
 * are no longer in the caller's row order: only an index built with
 * `leafOrdered` reads them right. O(size * (numEdges + stride)) time and
 * 5 bytes per row of scratch. Checks the arrays first (`BAD_INPUT`).
 */
export function toLeafOrder(arrays: IndexArrays, vectors: DenseMatrix): void {
  validateIndexArrays(arrays);
  if (arrays.kind !== "graph") throw badOption("toLeafOrder needs a graph index's arrays");
  const n = arrays.size;
  const { rows, stride, data } = vectors;
  if (rows !== n || !(Number.isSafeInteger(stride) && stride >= 1) || data.length < n * stride) {
    throw badInput(`vectors must be the index's ${n} rows at a stride of at least 1`);
  }
  const { leafRows: order, edges, numEdges: E } = arrays;
  const inv = new Int32Array(n);
  for (let i = 0; i < n; i++) inv[order[i]] = i;
  for (let p = 0; p < edges.length; p++) if (edges[p] >= 0) edges[p] = inv[edges[p]];
  permuteRows(edges, E, order);
  permuteRows(vectors.data, vectors.stride, order);
}

/** Row i of `data` (`width` entries each) becomes row `order[i]`, in place, cycle by cycle. */
function permuteRows<T extends Int32Array | Float32Array>(
  data: T,
  width: number,
  order: Int32Array,
): void {
  const n = order.length;
  const done = new Uint8Array(n);
  const held = data.slice(0, width) as T;
  for (let start = 0; start < n; start++) {
    if (done[start] || order[start] === start) continue;
    held.set(data.subarray(start * width, (start + 1) * width));
    let i = start;
    for (;;) {
      done[i] = 1;
      const from = order[i];
      if (from === start) {
        data.set(held, i * width);
        break;
      }
      data.copyWithin(i * width, from * width, (from + 1) * width);
      i = from;
    }
  }
}

function fail(what: string): never {
  throw badInput(`invalid index arrays: ${what}`);
}

function count(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    fail(`${name} must be a non-negative integer, but is ${String(value)}`);
  }
  return value;
}

function typed<T>(name: string, value: unknown, type: new (n: number) => T, length: number): T {
  if (!(value instanceof type)) fail(`${name} must be a ${type.name}`);
  const len = (value as unknown as { length: number }).length;
  if (len !== length) fail(`${name} must have ${length} entries, but has ${len}`);
  return value;
}

/**
 * Checks that `arrays` describe a well-formed index: known kind, metric,
 * order and version; array lengths consistent with `size`, `dim`,
 * `numEdges` and the node counts; a tree in which every split node and
 * every leaf is reached exactly once from the root with children numbered
 * after their parent (so the descent terminates); non-empty leaves whose
 * rows form a permutation of `0 .. size - 1`; finite split planes; edges in
 * `[-1, size)` and never to the row itself. O(size * numEdges + nodes *
 * dim). Throws an `AnnexmlError` `BAD_INPUT` that says what is wrong.
 */
export function validateIndexArrays(arrays: IndexArrays): void {
  if (arrays === null || typeof arrays !== "object") fail("not an object");
  if (arrays.version !== INDEX_ARRAYS_VERSION) {
    fail(`version must be ${INDEX_ARRAYS_VERSION}, but is ${String(arrays.version)}`);
  }
  if (arrays.kind !== "graph" && arrays.kind !== "bruteForce") {
    fail(`kind must be "graph" or "bruteForce", but is ${JSON.stringify(arrays.kind)}`);
  }
  validateMetric(arrays.metric);
  validateOrder(arrays.order);
  const n = count("size", arrays.size);
  if (count("leaves", arrays.leaves) < 1) fail("leaves must be at least 1");
  const dim = count("dim", arrays.dim);
  if (dim < 1) fail("dim must be at least 1");
  if (arrays.kind === "bruteForce") return;

  const leafSize = count("leafSize", arrays.leafSize);
  if (leafSize < 1) fail("leafSize must be at least 1");
  const E = count("numEdges", arrays.numEdges);
  if (E < 1) fail("numEdges must be at least 1");
  if (!(arrays.splitOffsets instanceof Float32Array)) fail("splitOffsets must be a Float32Array");
  const splits = arrays.splitOffsets.length;
  const children = typed("splitChildren", arrays.splitChildren, Int32Array, 2 * splits);
  const normals = typed("splitNormals", arrays.splitNormals, Float32Array, splits * dim);
  if (!(arrays.leafPtr instanceof Int32Array)) fail("leafPtr must be an Int32Array");
  const leaves = arrays.leafPtr.length - 1;
  const leafPtr = arrays.leafPtr;
  const leafRows = typed("leafRows", arrays.leafRows, Int32Array, n);
  const edges = typed("edges", arrays.edges, Int32Array, n * E);

  if (n === 0) {
    if (splits !== 0 || leaves > 0) fail("an empty index must have no tree nodes");
  } else {
    if (leaves < 1) fail("leafPtr must have at least 2 entries");
    if (splits !== 0 && leaves !== splits + 1) {
      fail(`a tree of ${splits} split nodes must have ${splits + 1} leaves, but has ${leaves}`);
    }
    if (splits === 0 && leaves !== 1)
      fail(`a tree without split nodes must be one leaf, not ${leaves}`);
  }
  if (leaves >= 0) {
    if (leafPtr[0] !== 0) fail(`leafPtr[0] must be 0, but is ${leafPtr[0]}`);
    if (leafPtr[leaves] !== n)
      fail(`leafPtr[${leaves}] must be size = ${n}, but is ${leafPtr[leaves]}`);
    for (let l = 0; l < leaves; l++) {
      if (!(leafPtr[l + 1] > leafPtr[l])) fail(`leaf ${l} must hold at least one row`);
    }
  }
  const seen = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const r = leafRows[p];
    if (!(r >= 0 && r < n) || seen[r] === 1) {
      fail(`leafRows must be a permutation of 0..${n - 1}, but holds ${r} at ${p}`);
    }
    seen[r] = 1;
  }
  // Every split node except the root and every leaf referenced exactly once,
  // children after their parent: the references form a tree rooted at 0.
  const splitRefs = new Uint8Array(splits);
  const leafRefs = new Uint8Array(Math.max(leaves, 0));
  for (let s = 0; s < splits; s++) {
    for (let side = 0; side < 2; side++) {
      const c = children[2 * s + side];
      if (c >= 0) {
        if (c <= s || c >= splits || splitRefs[c] === 1) {
          fail(`split ${s} has an invalid child reference ${c}`);
        }
        splitRefs[c] = 1;
      } else {
        const l = ~c;
        if (l >= leaves || leafRefs[l] === 1) fail(`split ${s} has an invalid leaf reference ${c}`);
        leafRefs[l] = 1;
      }
    }
    const offset = arrays.splitOffsets[s];
    if (offset - offset !== 0) fail(`splitOffsets[${s}] must be finite, but is ${offset}`);
  }
  for (let i = 0; i < normals.length; i++) {
    const v = normals[i];
    if (v - v !== 0) fail(`splitNormals[${i}] must be finite, but is ${v}`);
  }
  for (let e = 0; e < edges.length; e++) {
    const t = edges[e];
    const row = (e / E) | 0;
    if (t < -1 || t >= n || t === row) {
      fail(
        `edges of row ${row} must be row ids in [0, ${n}) other than ${row}, or -1, but hold ${t}`,
      );
    }
  }
}

/**
 * Rebuilds an index from its {@link IndexArrays} and the same vectors it
 * was built on (`vectors.rows === arrays.size`, `vectors.cols ===
 * arrays.dim`), without recomputing the tree or the graph: O(size *
 * (numEdges + dim)) for validation and, with `reorder`, the leaf-ordered
 * copy. Throws an `AnnexmlError` `BAD_INPUT` when the arrays or vectors are malformed
 * (`BAD_OPTION` for a bad option).
 */
export function indexFromArrays(
  arrays: IndexArrays,
  vectors: DenseMatrix,
  options: IndexFromArraysOptions = {},
): AnnIndex {
  validateIndexArrays(arrays);
  const reorder = options.reorder ?? DEFAULT_GRAPH_INDEX_OPTIONS.reorder;
  if (typeof reorder !== "boolean") {
    throw badOption(`reorder must be a boolean, but is ${String(reorder)}`);
  }
  const kernel = validateSpaceKernel(options.kernel ?? DEFAULT_GRAPH_INDEX_OPTIONS.kernel);
  validateVectors(vectors, arrays.metric);
  if (vectors.rows !== arrays.size || vectors.cols !== arrays.dim) {
    throw badInput(
      `vectors must be ${arrays.size} x ${arrays.dim} like the index, but are ${vectors.rows} x ${vectors.cols}`,
    );
  }
  const arena = options.arena ?? null;
  if (arena !== null && !(arena instanceof SpaceArena))
    throw badOption("arena must be a SpaceArena");
  const leafOrdered = options.leafOrdered ?? false;
  if (typeof leafOrdered !== "boolean") {
    throw badOption(`leafOrdered must be a boolean, but is ${String(leafOrdered)}`);
  }
  if (arrays.kind === "bruteForce") {
    if (leafOrdered) throw badOption("leafOrdered applies to graph indexes only");
    return new BruteForceIndex(vectors, arrays.metric, kernel);
  }
  return new GraphIndex(arrays, vectors, reorder, kernel, arena, leafOrdered);
}
