import type { DenseMatrix } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { indexFromArrays } from "./arrays.js";
import { buildIndex } from "./build.js";
import type { AnnMetric, GraphIndexOptions } from "./options.js";
import { clusteredUnitVectors } from "./synthetic.js";
import { denseRow, referenceKnn, themedVectors } from "./testing.js";
import type { AnnIndex } from "./types.js";

/**
 * The contract every AnnIndex implementation passes (types.ts documents the
 * well-defined edge cases asserted here).
 */
const kinds: { name: string; make: (x: DenseMatrix, o: GraphIndexOptions) => AnnIndex }[] = [
  { name: "bruteForce", make: (x, o) => buildIndex("bruteForce", x, o) },
  { name: "graph", make: (x, o) => buildIndex("graph", x, o) },
  {
    name: "graph (original settings: lifo, one leaf, plain bisection, caller's vectors)",
    make: (x, o) =>
      buildIndex("graph", x, {
        ...o,
        order: "lifo",
        leaves: 1,
        splitIterations: 0,
        reorder: false,
      }),
  },
  {
    name: "graph (restored from arrays)",
    make: (x, o) => indexFromArrays(buildIndex("graph", x, o).toArrays(), x),
  },
  // The JavaScript fallback of the distance kernel (no WebAssembly SIMD).
  {
    name: "bruteForce (JavaScript kernel)",
    make: (x, o) => buildIndex("bruteForce", x, { ...o, kernel: "js" }),
  },
  {
    name: "graph (JavaScript kernel, caller's vectors)",
    make: (x, o) => buildIndex("graph", x, { ...o, kernel: "js", reorder: false }),
  },
];

/**
 * Non-unit vectors for the l2 metric: row r multiplied by `factor`,
 * `1.5 factor` or `2 factor` (r % 3 = 0, 1, 2), so that norms differ and the
 * l2 ranking is not the cosine one.
 */
function scaled(m: DenseMatrix, factor: number): DenseMatrix {
  const data = m.data.map((v, i) => v * factor * (1 + (Math.floor(i / m.stride) % 3) / 2));
  return { ...m, data };
}

function scoreOf(metric: AnnMetric, d: number): number {
  return metric === "cosine" ? 1 - d / 2 : d;
}

const { X, Q } = themedVectors({
  rows: 400,
  queries: 30,
  dim: 12,
  centres: 8,
  noise: 0.2,
  seed: 11,
});

describe.each(kinds)("AnnIndex contract: $name", ({ make }) => {
  for (const metric of ["cosine", "l2"] as const) {
    const base = metric === "cosine" ? X : scaled(X, 3);
    const queries = metric === "cosine" ? Q : scaled(Q, 3);
    const index = make(base, { metric, numEdges: 20 });
    const exact = referenceKnn(base, queries, 10);

    it(`${metric}: returns ranked, distinct rows with the true scores`, () => {
      expect(index.size).toBe(400);
      expect(index.dim).toBe(12);
      expect(index.metric).toBe(metric);
      let hits = 0;
      for (let q = 0; q < queries.rows; q++) {
        const { ids, scores } = index.search(denseRow(queries, q), 10);
        expect(ids.length).toBe(10);
        expect(new Set(ids).size).toBe(10);
        for (let j = 0; j < 10; j++) {
          const id = ids[j];
          expect(id).toBeGreaterThanOrEqual(0);
          expect(id).toBeLessThan(400);
          let sq = 0;
          for (let t = 0; t < 12; t++)
            sq += (queries.data[q * queries.stride + t] - base.data[id * base.stride + t]) ** 2;
          expect(scores[j]).toBeCloseTo(scoreOf(metric, sq), 5);
          if (j > 0) {
            const better =
              metric === "cosine" ? scores[j - 1] >= scores[j] : scores[j - 1] <= scores[j];
            expect(better).toBe(true);
          }
          if (exact.ids.subarray(q * 10, q * 10 + 10).includes(id)) hits++;
        }
      }
      // Small and clustered: the graph finds (nearly) everything.
      expect(hits / (queries.rows * 10)).toBeGreaterThanOrEqual(0.97);
    });
  }

  it("k larger than the index: every row, exactly ranked", () => {
    const small = clusteredUnitVectors({ rows: 25, dim: 12, centres: 3, noise: 0.3, seed: 5 });
    const index = make(small, {});
    const ref = referenceKnn(small, Q, 25);
    const { ids, scores } = index.search(denseRow(Q, 0), 100);
    expect(Array.from(ids)).toEqual(Array.from(ref.ids.subarray(0, 25)));
    for (let j = 0; j < 25; j++) expect(scores[j]).toBeCloseTo(1 - ref.scores[j] / 2, 6);
    const batch = index.searchBatch(Q, 30);
    expect(batch.k).toBe(30);
    expect(Array.from(batch.ids.subarray(25, 30))).toEqual([-1, -1, -1, -1, -1]);
    expect(Array.from(batch.scores.subarray(25, 30))).toEqual(
      new Array(5).fill(Number.NEGATIVE_INFINITY),
    );
  });

  it("k = 0: no result", () => {
    const index = make(X, {});
    const r = index.search(denseRow(Q, 0), 0);
    expect(r.ids.length).toBe(0);
    expect(index.searchInto(denseRow(Q, 0), 0, new Int32Array(0), new Float32Array(0))).toBe(0);
    const batch = index.searchBatch(Q, 0);
    expect(batch).toMatchObject({ rows: Q.rows, k: 0 });
    expect(batch.ids.length).toBe(0);
  });

  it("an empty index: no result, and it round-trips through its arrays", () => {
    const empty: DenseMatrix = { rows: 0, cols: 12, stride: 16, data: new Float32Array(0) };
    const index = make(empty, {});
    expect(index.size).toBe(0);
    expect(index.search(denseRow(Q, 0), 10).ids.length).toBe(0);
    const batch = index.searchBatch(Q, 3, undefined);
    expect(Array.from(batch.ids.subarray(0, 3))).toEqual([-1, -1, -1]);
    const again = indexFromArrays(index.toArrays(), empty);
    expect(again.search(denseRow(Q, 0), 5).ids.length).toBe(0);
  });

  it("duplicate vectors: all copies at distance 0 first, by id, then the true distances", () => {
    // 4 copies of each of 50 distinct vectors (rows i, i + 50, i + 100, i + 150).
    const distinct = clusteredUnitVectors({ rows: 50, dim: 12, centres: 5, noise: 0.2, seed: 9 });
    const data = new Float32Array(200 * 16);
    for (let c = 0; c < 4; c++) data.set(distinct.data, c * 50 * 16);
    const dup: DenseMatrix = { rows: 200, cols: 12, stride: 16, data };
    const index = make(dup, { numEdges: 10 });
    const ref = referenceKnn(dup, dup, 10);
    for (const q of [7, 60, 199]) {
      const { ids, scores } = index.search(denseRow(dup, q), 10);
      const first = q % 50;
      expect(Array.from(ids.subarray(0, 4))).toEqual([first, first + 50, first + 100, first + 150]);
      expect(Array.from(scores.subarray(0, 4))).toEqual([1, 1, 1, 1]);
      for (let j = 0; j < 10; j++) expect(scores[j]).toBeCloseTo(1 - ref.scores[q * 10 + j] / 2, 6);
    }
  });

  it("a query equal to a stored vector finds it first (similarity 1, distance 0)", () => {
    const cos = make(X, {});
    const l2 = make(scaled(X, 3), { metric: "l2" });
    for (const r of [0, 123, 399]) {
      const a = cos.search(denseRow(X, r), 5);
      expect(a.ids[0]).toBe(r);
      expect(a.scores[0]).toBeCloseTo(1, 6);
      const b = l2.search(denseRow(scaled(X, 3), r), 5);
      expect(b.ids[0]).toBe(r);
      expect(b.scores[0]).toBe(0);
    }
  });

  it("NaN or infinite query entries: AnnexmlError BAD_INPUT naming the entry", () => {
    const index = make(X, {});
    const q = denseRow(Q, 0);
    q[3] = Number.NaN;
    expect(() => index.search(q, 5)).toThrow(/query\[3\] must be finite, but is NaN/);
    q[3] = Number.POSITIVE_INFINITY;
    const badInput = expect.objectContaining({
      code: "BAD_INPUT",
      message: "query[3] must be finite, but is Infinity",
    });
    expect(() => index.search(q, 5)).toThrow(badInput);
    const batch: DenseMatrix = { rows: 1, cols: 12, stride: 12, data: q };
    expect(() => index.searchBatch(batch, 5)).toThrow(badInput);
  });

  it("cosine with an all-zero query: no result; l2: distances to the origin", () => {
    const zero = new Float32Array(12);
    expect(make(X, {}).search(zero, 5).ids.length).toBe(0);
    const l2 = make(X, { metric: "l2" }).search(zero, 5);
    expect(l2.ids.length).toBe(5);
    for (const s of l2.scores) expect(s).toBeCloseTo(1, 5);
  });

  it("normalises cosine queries", () => {
    const index = make(X, {});
    const a = index.search(denseRow(Q, 3), 10);
    const b = index.search(denseRow(scaled(Q, 7), 3), 10);
    expect(b.ids).toEqual(a.ids);
    expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
  });

  it("searchInto writes from the offset only; searchBatch fills and returns the given output", () => {
    const index = make(X, {});
    const ids = new Int32Array(20).fill(-7);
    const scores = new Float32Array(20).fill(-7);
    expect(index.searchInto(denseRow(Q, 2), 10, ids, scores, 5)).toBe(10);
    expect(Array.from(ids.subarray(0, 5))).toEqual([-7, -7, -7, -7, -7]);
    expect(Array.from(ids.subarray(15))).toEqual([-7, -7, -7, -7, -7]);
    const single = index.search(denseRow(Q, 2), 10);
    expect(ids.subarray(5, 15)).toEqual(single.ids);
    const out = {
      rows: Q.rows,
      k: 10,
      ids: new Int32Array(Q.rows * 10),
      scores: new Float32Array(Q.rows * 10),
    };
    expect(index.searchBatch(Q, 10, {}, out)).toBe(out);
    expect(out.ids.subarray(20, 30)).toEqual(single.ids);
    expect(() =>
      index.searchInto(denseRow(Q, 2), 10, new Int32Array(9), new Float32Array(9)),
    ).toThrow(expect.objectContaining({ name: "AnnexmlError", code: "BAD_INPUT" }));
    expect(() => index.searchBatch(Q, 5, {}, out)).toThrow(/out must have rows = 30 and k = 5/);
  });

  it("rejects bad arguments with errors that name the value", () => {
    const index = make(X, {});
    const q = denseRow(Q, 0);
    expect(() => index.search(q, -1)).toThrow(/k must be a non-negative integer, but is -1/);
    expect(() => index.search(q, 1.5)).toThrow(
      expect.objectContaining({ name: "AnnexmlError", code: "BAD_OPTION" }),
    );
    expect(() => index.search(q.subarray(0, 11), 5)).toThrow(
      /at least dim = 12 entries, but has 11/,
    );
    expect(() => index.search(q, 5, { eps: -0.1 })).toThrow(
      /eps must be a finite number >= 0, but is -0.1/,
    );
    expect(() => index.search(q, 5, { leaves: 0 })).toThrow(
      /leaves must be a positive integer, but is 0/,
    );
    expect(() => index.search(q, 5, { order: "fifo" as never })).toThrow(/order must be/);
    expect(() => index.search(Array.from(q) as never, 5)).toThrow(
      expect.objectContaining({ code: "BAD_INPUT", message: "query must be a Float32Array" }),
    );
    expect(() => index.searchBatch({ ...Q, cols: 11 }, 5)).toThrow(
      /queries.cols must equal dim = 12/,
    );
  });

  it("is deterministic: same vectors and seed, same arrays and results", () => {
    const a = make(X, { seed: 3 });
    const b = make(X, { seed: 3 });
    expect(b.toArrays()).toEqual(a.toArrays());
    expect(b.searchBatch(Q, 10)).toEqual(a.searchBatch(Q, 10));
  });
});
