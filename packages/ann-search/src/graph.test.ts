import { exactKnnGraph, SpaceArena, type VectorSpace } from "@annexml/knng";
import { createSharedWasmMemory, type DenseMatrix, recallAtK } from "@annexml/sparse-io";
import { describe, expect, it, vi } from "vitest";
import { indexFromArrays, toLeafOrder, validateIndexArrays } from "./arrays.js";
import { buildIndex } from "./build.js";
import type { GraphIndex } from "./indexes.js";
import { DEFAULT_GRAPH_INDEX_OPTIONS, validateGraphIndexOptions } from "./options.js";
import { clusteredUnitVectors } from "./synthetic.js";
import { denseRow, referenceKnn, themedVectors } from "./testing.js";
import type { IndexArrays } from "./types.js";

const { X, Q } = themedVectors({
  rows: 1500,
  queries: 100,
  dim: 20,
  centres: 30,
  noise: 0.15,
  seed: 21,
});

describe("graph index options", () => {
  it("has documented defaults", () => {
    expect(DEFAULT_GRAPH_INDEX_OPTIONS).toMatchObject({
      metric: "cosine",
      leafSize: 10,
      numEdges: 50,
      order: "best-first",
      leaves: 3,
      splitIterations: 3,
      graphBuild: "auto",
      reorder: true,
    });
  });

  it("names the bad value", () => {
    expect(() => validateGraphIndexOptions({ leafSize: 0 })).toThrow(
      /leafSize must be a positive integer, but is 0/,
    );
    expect(() => validateGraphIndexOptions({ numEdges: 2.5 })).toThrow(
      /numEdges must be a positive integer, but is 2.5/,
    );
    expect(() => validateGraphIndexOptions({ metric: "ip" as never })).toThrow(
      /metric must be "cosine" or "l2", but is "ip"/,
    );
    expect(() => validateGraphIndexOptions({ order: "lifo " as never })).toThrow(/order must be/);
    expect(() => validateGraphIndexOptions({ leaves: -1 })).toThrow(
      /leaves must be a positive integer/,
    );
    expect(() => validateGraphIndexOptions({ splitIterations: -1 })).toThrow(
      /splitIterations must be a non-negative integer/,
    );
    expect(() => validateGraphIndexOptions({ seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => validateGraphIndexOptions({ graphBuild: "fast" as never })).toThrow(
      /graphBuild must be/,
    );
    expect(() => validateGraphIndexOptions({ reorder: 1 as never })).toThrow(
      /reorder must be a boolean/,
    );
    expect(() => validateGraphIndexOptions({ kernel: "simd" as never })).toThrow(
      /kernel must be "auto", "wasm" or "js", but is "simd"/,
    );
    expect(() => buildIndex("hnsw" as never, X)).toThrow(
      /kind must be "graph" or "bruteForce", but is "hnsw"/,
    );
  });

  it("rejects vectors the metric cannot take", () => {
    const bad = { ...X, data: X.data.slice() };
    bad.data[5 * X.stride + 3] = Number.NaN;
    expect(() => buildIndex("graph", bad)).toThrow(
      /vectors row 5 column 3 must be finite, but is NaN/,
    );
    const long = { ...X, data: X.data.map((v) => v * 2) };
    expect(() => buildIndex("bruteForce", long)).toThrow(
      /row 0 must be a unit vector .* norm is 2/,
    );
    expect(() => buildIndex("graph", long, { metric: "l2" })).not.toThrow();
    expect(() => buildIndex("graph", { ...X, stride: 10 })).toThrow(
      /stride must be an integer >= cols/,
    );
  });
});

describe("prebuilt graphs", () => {
  const graph = exactKnnGraph(X, { k: 30, metric: "l2" });

  it("uses the first numEdges columns of a prebuilt graph (default: all)", () => {
    const all = buildIndex("graph", X, { graph }).toArrays();
    expect(all.numEdges).toBe(30);
    expect(all.edges).toEqual(graph.ids);
    const some = buildIndex("graph", X, { graph, numEdges: 12 }).toArrays();
    expect(some.edges.subarray(12, 24)).toEqual(graph.ids.subarray(30, 42));
  });

  it("matches the graph built by @annexml/knng with graphBuild exact", () => {
    const own = buildIndex("graph", X, { numEdges: 30, graphBuild: "exact" }).toArrays();
    expect(own.edges).toEqual(graph.ids);
  });

  it("rejects graphs that do not fit", () => {
    expect(() => buildIndex("graph", X, { graph, numEdges: 31 })).toThrow(
      /numEdges must be at most the prebuilt graph's k \(30\), but is 31/,
    );
    const short = { ...graph, rows: 10, ids: graph.ids.subarray(0, 300) };
    expect(() => buildIndex("graph", X, { graph: short })).toThrow(
      /one row per vector \(1500\), but has 10/,
    );
    const self = { ...graph, ids: graph.ids.slice() };
    self.ids[7 * 30] = 7;
    expect(() => buildIndex("graph", X, { graph: self })).toThrow(
      /graph row 7 must hold row ids .* but holds 7/,
    );
  });
});

describe("IndexArrays", () => {
  const index = buildIndex("graph", X, { numEdges: 16 });
  const arrays = index.toArrays();

  it("round-trip without rebuilding: same arrays, same results, with and without the reordered copy", () => {
    const restored = indexFromArrays(arrays, X);
    const shared = indexFromArrays(arrays, X, { reorder: false });
    // The WebAssembly space copies anyway, so always in leaf order; the
    // JavaScript one reads the caller's vectors in place without `reorder`.
    expect((shared as GraphIndex).reorder).toBe(true);
    const sharedJs = indexFromArrays(arrays, X, { reorder: false, kernel: "js" });
    const restoredJs = indexFromArrays(arrays, X, { kernel: "js" });
    expect((sharedJs as GraphIndex).reorder).toBe(false);
    expect((restoredJs as GraphIndex).reorder).toBe(true);
    for (const again of [restored, shared, sharedJs, restoredJs]) {
      expect(again.toArrays()).toEqual(arrays);
    }
    const a = index.searchBatch(Q, 10);
    expect(restored.searchBatch(Q, 10)).toEqual(a);
    expect(shared.searchBatch(Q, 10)).toEqual(a);
    expect(restoredJs.searchBatch(Q, 10).ids).toEqual(sharedJs.searchBatch(Q, 10).ids);
  });

  it("read in place from a shared WebAssembly memory: no copy, the same results bit for bit (ties too)", () => {
    // Rows 100.. are copies of row 7: many exact ties.
    const base = clusteredUnitVectors({ rows: 100, dim: 20, centres: 5, noise: 0.2, seed: 32 });
    const data = new Float32Array(400 * base.stride);
    data.set(base.data);
    for (let r = 100; r < 400; r++)
      data.copyWithin(r * base.stride, 7 * base.stride, 8 * base.stride);
    const dup: DenseMatrix = { ...base, rows: 400, data };
    for (const [vectors, queries] of [
      [X, Q],
      [dup, dup],
    ] as const) {
      const built = buildIndex("graph", vectors, { numEdges: 12 });
      const a = built.toArrays();
      /** `data` and `ids` in a new shared memory, as a model file read into one lays them out. */
      const inMemory = (data: Float32Array, ids: Int32Array) => {
        const memory = createSharedWasmMemory(data.byteLength + ids.byteLength);
        if (memory === null) throw new Error("no shared WebAssembly memory on Node?");
        const at = new Float32Array(memory.buffer, 0, data.length);
        at.set(data);
        const edges = new Int32Array(memory.buffer, data.byteLength, ids.length);
        edges.set(ids);
        return { memory, data: at, edges };
      };
      const { memory, data: shared, edges } = inMemory(vectors.data, a.edges);
      const threads = [new SpaceArena(memory), new SpaceArena(memory)].map((arena) =>
        indexFromArrays({ ...a, edges }, { ...vectors, data: shared }, { arena }),
      );
      const copied = indexFromArrays(a, vectors);
      // Without the copy of the rows and edges (the copy rounds up to 64 KiB pages).
      const copy = vectors.rows * (vectors.cols + 12) * 4;
      for (const index of threads) {
        expect((index as GraphIndex).reorder).toBe(false); // the caller's order, where it is
        expect(copied.bytes - index.bytes).toBeGreaterThan(copy - 65536);
      }
      // Put in leaf order where they are (once, for every thread), as the
      // index's own copy would be: read so in place, or copied, or by the
      // JavaScript kernel; toArrays gives the caller's arrays back.
      const leafVectors = { ...vectors, data: vectors.data.slice() };
      const leafArrays = { ...a, edges: a.edges.slice() };
      toLeafOrder(leafArrays, leafVectors);
      expect(leafVectors.data.subarray(0, vectors.stride)).toEqual(
        vectors.data.subarray(a.leafRows[0] * vectors.stride, (a.leafRows[0] + 1) * vectors.stride),
      );
      const leaf = inMemory(leafVectors.data, leafArrays.edges);
      const arena = new SpaceArena(leaf.memory);
      const leafIndexes = [
        indexFromArrays(
          { ...a, edges: leaf.edges },
          { ...vectors, data: leaf.data },
          { arena, leafOrdered: true },
        ),
        indexFromArrays(leafArrays, leafVectors, { leafOrdered: true }),
      ];
      for (const index of leafIndexes) {
        expect(index.toArrays()).toEqual(a);
        expect((index as GraphIndex).reorder).toBe(true);
      }
      expect(copied.bytes - leafIndexes[0].bytes).toBeGreaterThan(copy - 65536);
      const js = indexFromArrays(leafArrays, leafVectors, { leafOrdered: true, kernel: "js" });
      const jsCopied = indexFromArrays(a, vectors, { kernel: "js" });
      for (const options of [{}, { order: "lifo" as const }, { eps: 0.5, leaves: 1 }]) {
        const expected = copied.searchBatch(queries, 10, options);
        for (const index of [...threads, ...leafIndexes])
          expect(index.searchBatch(queries, 10, options)).toEqual(expected);
        expect(js.searchBatch(queries, 10, options)).toEqual(
          jsCopied.searchBatch(queries, 10, options),
        );
      }
    }
    expect(() => toLeafOrder(buildIndex("bruteForce", X).toArrays(), X)).toThrow(
      /toLeafOrder needs a graph index's arrays/,
    );
    expect(() =>
      indexFromArrays(buildIndex("bruteForce", X).toArrays(), X, { leafOrdered: true }),
    ).toThrow(/leafOrdered applies to graph indexes only/);
  });

  it("describe the tree and graph in the caller's row ids", () => {
    expect(arrays).toMatchObject({
      version: 1,
      kind: "graph",
      metric: "cosine",
      size: 1500,
      dim: 20,
      numEdges: 16,
      leafSize: 10,
    });
    expect(arrays.edges.length).toBe(1500 * 16);
    // The edges are the 16 nearest rows (knng's exact graph at this size).
    const ref = referenceKnn(X, X, 16, true);
    expect(arrays.edges).toEqual(ref.ids);
    expect(arrays.splitNormals.length).toBe(arrays.splitOffsets.length * 20);
  });

  it("are validated, with a message that says what is wrong", () => {
    const broken = (patch: Partial<IndexArrays>) => () =>
      validateIndexArrays({ ...arrays, ...patch });
    expect(broken({})).not.toThrow();
    expect(broken({ version: 2 })).toThrow(/version must be 1, but is 2/);
    expect(broken({ kind: "tree" as never })).toThrow(/kind must be/);
    expect(broken({ size: 1499 })).toThrow(/leafRows must have 1499 entries/);
    const edges = arrays.edges.slice();
    edges[16 * 3 + 2] = 3;
    expect(broken({ edges })).toThrow(/edges of row 3 .* but hold 3/);
    edges[16 * 3 + 2] = 1500;
    expect(broken({ edges })).toThrow(/but hold 1500/);
    const leafRows = arrays.leafRows.slice();
    leafRows[1] = leafRows[0];
    expect(broken({ leafRows })).toThrow(/leafRows must be a permutation/);
    const splitChildren = arrays.splitChildren.slice();
    splitChildren[2] = 0; // split 1 pointing back at the root: a cycle
    expect(broken({ splitChildren })).toThrow(/split 1 has an invalid child reference 0/);
    const leafPtr = arrays.leafPtr.slice();
    leafPtr[1] = 0;
    expect(broken({ leafPtr })).toThrow(/leaf 0 must hold at least one row/);
    const splitNormals = arrays.splitNormals.slice();
    splitNormals[0] = Number.NaN;
    expect(broken({ splitNormals })).toThrow(/splitNormals\[0\] must be finite/);
    expect(() => indexFromArrays(arrays, { ...X, rows: 1400 })).toThrow(
      /vectors must be 1500 x 20 like the index, but are 1400 x 20/,
    );
  });

  it("keep the search defaults", () => {
    const lifo = buildIndex("graph", X, { numEdges: 16, order: "lifo", leaves: 1 }).toArrays();
    expect(lifo).toMatchObject({ order: "lifo", leaves: 1 });
    const again = indexFromArrays(lifo, X);
    expect(again.searchBatch(Q, 10)).toEqual(
      again.searchBatch(Q, 10, { order: "lifo", leaves: 1 }),
    );
  });
});

describe("graph search", () => {
  const index = buildIndex("graph", X, { numEdges: 16 }) as GraphIndex;

  it("stays correct when the visited-set epoch wraps around", () => {
    // The stamps live in the index's space; the counter wraps before 2^31.
    const space = (index as unknown as { space: { epoch: number; visited: Int32Array } }).space;
    const before = index.search(denseRow(Q, 0), 10);
    space.epoch = 0x7ffffffe - 1;
    const last = index.search(denseRow(Q, 0), 10); // epoch 2^31 - 2, the last before the wrap
    expect(space.visited.includes(0x7ffffffe)).toBe(true);
    const wrapped = index.search(denseRow(Q, 0), 10); // cleared, epoch 1
    const after = index.search(denseRow(Q, 0), 10);
    expect(last).toEqual(before);
    expect(wrapped).toEqual(before);
    expect(after).toEqual(before);
    expect(space.epoch).toBe(2);
    expect(space.visited.includes(0x7ffffffe)).toBe(false);
  });

  it("counts its distance computations; more eps and more leaves never find less here", () => {
    const exact = buildIndex("bruteForce", X).searchBatch(Q, 10);
    let last = -1;
    for (const [eps, leaves] of [
      [0, 1],
      [0, 3],
      [0.2, 3],
      [1, 6],
    ]) {
      const e0 = index.distanceEvaluations;
      const got = index.searchBatch(Q, 10, { eps, leaves });
      const evals = index.distanceEvaluations - e0;
      expect(evals).toBeGreaterThan(last);
      last = evals;
      let hits = 0;
      for (let q = 0; q < Q.rows; q++) {
        const truth = exact.ids.subarray(q * 10, q * 10 + 10);
        for (const id of got.ids.subarray(q * 10, q * 10 + 10)) if (truth.includes(id)) hits++;
      }
      expect(hits / (Q.rows * 10)).toBeGreaterThanOrEqual(eps === 1 ? 0.999 : 0.9);
    }
  });

  it("finds the same as brute force with both orders when eps is large", () => {
    const exact = buildIndex("bruteForce", X).searchBatch(Q, 5);
    for (const order of ["lifo", "best-first"] as const) {
      expect(index.searchBatch(Q, 5, { order, eps: 3 })).toEqual(exact);
    }
  });

  it("evaluates the leaves in one kernel call and each expanded row's fresh neighbours in one", () => {
    const space = (index as unknown as { space: VectorSpace }).space;
    const expand = vi.spyOn(space, "expand");
    const toMany = vi.spyOn(space, "toMany");
    try {
      for (const order of ["best-first", "lifo"] as const) {
        expand.mockClear();
        toMany.mockClear();
        const e0 = index.distanceEvaluations;
        index.searchBatch(Q, 10, { order });
        const evals = index.distanceEvaluations - e0;
        // Every evaluation is either a leaf row (one toMany call per query:
        // 3 leaves of at most 10 rows fit the space's scratch) or a fresh
        // neighbour returned by an expansion.
        expect(toMany.mock.calls.length).toBe(Q.rows);
        let leafRows = 0;
        for (const [count] of toMany.mock.calls) leafRows += count;
        let expanded = 0;
        for (const result of expand.mock.results) expanded += result.value as number;
        expect(leafRows + expanded).toBe(evals);
        expect(expand.mock.calls.length).toBeGreaterThan(Q.rows);
      }
    } finally {
      expand.mockRestore();
      toMany.mockRestore();
    }
  });

  it("gives the same neighbours with the JavaScript kernel, scores within float32 rounding", () => {
    const js = buildIndex("graph", X, { numEdges: 16, kernel: "js" });
    expect(js.toArrays()).toEqual(index.toArrays()); // same graph and tree
    for (const order of ["best-first", "lifo"] as const) {
      const a = index.searchBatch(Q, 10, { order });
      const b = js.searchBatch(Q, 10, { order });
      expect(recallAtK(b, a)).toBeGreaterThanOrEqual(0.999);
      for (let i = 0; i < a.scores.length; i++) {
        if (a.ids[i] === b.ids[i]) expect(Math.abs(a.scores[i] - b.scores[i])).toBeLessThan(1e-6);
      }
    }
  });

  it("reports the bytes it holds: its space (vectors, graph, stamps) and planes", () => {
    const own = 1500 * 20 * 4 + 1500 * 16 * 4 + 1501 * 4;
    const planes = index.toArrays().splitNormals.byteLength;
    // Whole 64 KiB pages: the vectors' space (with 2 KiB of scratch) and the planes'.
    const least = own + planes + 1500 * 4;
    expect(index.bytes).toBeGreaterThanOrEqual(least);
    expect(index.bytes).toBeLessThan(least + 2 * 65536 + 4096);
    // The WebAssembly space copies in either order; the JavaScript one
    // reads the caller's vectors and graph in place without `reorder`.
    expect(indexFromArrays(index.toArrays(), X, { reorder: false }).bytes).toBe(index.bytes);
    const js = indexFromArrays(index.toArrays(), X, { reorder: false, kernel: "js" });
    expect(js.bytes).toBeLessThan(1501 * 4 + 1500 * 4 + planes + 4096);
    const brute = buildIndex("bruteForce", X);
    expect(brute.bytes).toBeGreaterThanOrEqual(1500 * 20 * 4);
    expect(brute.bytes).toBeLessThan(1500 * 20 * 4 + 65536 + 8192);
    expect(buildIndex("bruteForce", X, { kernel: "js" }).bytes).toBeLessThan(8192 + 128);
  });

  it("evaluates a leaf larger than the kernel's batch in chunks (600 identical rows)", () => {
    // Identical rows cannot be split: one leaf of 600 rows, more than the
    // 256 rows a kernel call of the index takes.
    const base = clusteredUnitVectors({ rows: 100, dim: 20, centres: 5, noise: 0.2, seed: 31 });
    const data = new Float32Array(700 * base.stride);
    data.set(base.data);
    for (let r = 100; r < 700; r++)
      data.copyWithin(r * base.stride, 7 * base.stride, 8 * base.stride);
    const dup: DenseMatrix = { ...base, rows: 700, data };
    const graph = buildIndex("graph", dup, { numEdges: 10 });
    const leafPtr = graph.toArrays().leafPtr;
    let largest = 0;
    for (let l = 0; l + 1 < leafPtr.length; l++)
      largest = Math.max(largest, leafPtr[l + 1] - leafPtr[l]);
    expect(largest).toBeGreaterThan(256);
    // A query at the copies: the descent lands in the big leaf, whose rows
    // are all evaluated (in three kernel calls), all at distance 0.
    for (const order of ["best-first", "lifo"] as const) {
      const e0 = graph.distanceEvaluations;
      const { ids, scores } = graph.search(denseRow(dup, 300), 5, { order, leaves: 1 });
      expect(graph.distanceEvaluations - e0).toBeGreaterThanOrEqual(600);
      expect(Array.from(scores)).toEqual([1, 1, 1, 1, 1]);
      expect(new Set(ids).size).toBe(5);
      for (const id of ids) expect(id === 7 || id >= 100).toBe(true);
    }
    // The other rows are still found exactly.
    const exact = buildIndex("bruteForce", dup).search(denseRow(dup, 42), 5);
    expect(graph.search(denseRow(dup, 42), 5, { eps: 1 }).scores).toEqual(exact.scores);
  });
});
