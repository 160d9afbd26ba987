import { type DenseMatrix, type KnnResult, Rng, readDataset, recallAtK } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { approxKnnGraph, validateApproxKnnOptions } from "./approx-knn.js";
import { exactKnnGraph } from "./dense-knn.js";
import { buildDenseKnnGraph } from "./graph.js";
import { createVectorSpace, type SpaceKernel } from "./space.js";
import { clusteredUnitVectors } from "./synthetic.js";

function randomMatrix(rng: Rng, rows: number, cols: number, stride: number): DenseMatrix {
  const data = new Float32Array(rows * stride);
  for (let i = 0; i < rows; i++)
    for (let d = 0; d < cols; d++) data[i * stride + d] = rng.nextFloat() * 2 - 1;
  return { rows, cols, stride, data };
}

/** Scalar reference: every pair by the plain loop, sorted by score then id. */
function naiveGraph(m: DenseMatrix, k: number, l2: boolean): KnnResult {
  const { rows: n, cols, stride, data } = m;
  const ids = new Int32Array(n * k).fill(-1);
  const scores = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const cands: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let d = 0; d < cols; d++) {
        const x = data[i * stride + d];
        const y = data[j * stride + d];
        s += l2 ? (x - y) * (x - y) : x * y;
      }
      cands.push([j, Math.fround(s)]);
    }
    cands.sort((a, b) => (l2 ? a[1] - b[1] : b[1] - a[1]) || a[0] - b[0]);
    for (let t = 0; t < Math.min(k, cands.length); t++) {
      ids[i * k + t] = cands[t][0];
      scores[i * k + t] = cands[t][1];
    }
  }
  return { rows: n, k, ids, scores };
}

/**
 * The same reference over the values a space's kernel computes (each row's
 * distances to all rows by `toAll`): the graph builders must match it
 * exactly, ids and scores, since they rank the scores as computed.
 */
function spaceGraph(m: DenseMatrix, k: number, l2: boolean, kernel: SpaceKernel): KnnResult {
  const n = m.rows;
  const space = createVectorSpace(m, {
    metric: l2 ? "l2" : "ip",
    kernel,
    capacity: Math.max(1, n),
  });
  const ids = new Int32Array(n * k).fill(-1);
  const scores = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    space.toAll(i);
    const cands: [number, number][] = [];
    for (let j = 0; j < n; j++) if (j !== i) cands.push([j, space.out[j]]);
    cands.sort((a, b) => (l2 ? a[1] - b[1] : b[1] - a[1]) || a[0] - b[0]);
    for (let t = 0; t < Math.min(k, cands.length); t++) {
      ids[i * k + t] = cands[t][0];
      scores[i * k + t] = cands[t][1];
    }
  }
  return { rows: n, k, ids, scores };
}

/**
 * `g` against the double-precision reference `ref` (built with k + 1
 * columns): every score within `tol`, and the id exact at every position
 * whose reference score is more than 2 tol away from its neighbours'
 * (not a near-tie, where float32 sums may legitimately swap the order).
 * Returns the fraction of positions whose id was checked.
 */
function expectNearReference(g: KnnResult, ref: KnnResult, tol: number): number {
  const { k } = g;
  let problem = "";
  let checked = 0;
  let total = 0;
  for (let i = 0; i < g.rows && !problem; i++) {
    for (let t = 0; t < k; t++) {
      const r = i * ref.k + t;
      if (ref.ids[r] < 0) {
        if (g.ids[i * k + t] !== -1) problem = `row ${i} position ${t}: expected no neighbour`;
        continue;
      }
      total++;
      const score = ref.scores[r];
      if (!(Math.abs(g.scores[i * k + t] - score) <= tol)) {
        problem = `row ${i} position ${t}: score ${g.scores[i * k + t]} vs ${score}`;
      }
      const before = t > 0 ? Math.abs(score - ref.scores[r - 1]) : Number.POSITIVE_INFINITY;
      const after =
        t + 1 < ref.k && ref.ids[r + 1] >= 0
          ? Math.abs(ref.scores[r + 1] - score)
          : Number.POSITIVE_INFINITY;
      if (before > 2 * tol && after > 2 * tol) {
        checked++;
        if (g.ids[i * k + t] !== ref.ids[r]) {
          problem = `row ${i} position ${t}: id ${g.ids[i * k + t]} vs ${ref.ids[r]}`;
        }
      }
    }
  }
  expect(problem).toBe("");
  return total === 0 ? 1 : checked / total;
}

/** Unit vectors of real data: bibtex features through a seeded Gaussian projection to 50 dims. */
async function bibtexEmbeddings(rows: number): Promise<DenseMatrix> {
  const path = new URL("../../../data/bibtex/train.txt", import.meta.url).pathname;
  const { features } = await readDataset(path);
  const cols = 50;
  const stride = 56;
  const rng = new Rng(7);
  const proj = new Float64Array(features.cols * cols);
  for (let p = 0; p < proj.length; p++) proj[p] = rng.nextFloat() * 2 - 1;
  const n = Math.min(rows, features.rows);
  const data = new Float32Array(n * stride);
  const v = new Float64Array(cols);
  for (let i = 0; i < n; i++) {
    v.fill(0);
    for (let p = features.indptr[i]; p < features.indptr[i + 1]; p++) {
      const f = features.indices[p];
      for (let d = 0; d < cols; d++) v[d] += features.values[p] * proj[f * cols + d];
    }
    let s = 0;
    for (let d = 0; d < cols; d++) s += v[d] * v[d];
    for (let d = 0; d < cols; d++) data[i * stride + d] = v[d] / Math.sqrt(s || 1);
  }
  return { rows: n, cols, stride, data };
}

describe("exactKnnGraph", () => {
  const shapes = [
    [0, 3, 4, 2],
    [1, 3, 4, 2],
    [2, 5, 8, 3],
    [9, 7, 8, 20],
    [260, 13, 16, 10],
    [601, 50, 56, 50],
  ];

  it("JavaScript kernel: the naive double-precision reference exactly (ids and scores)", () => {
    const rng = new Rng(11);
    for (const [n, cols, stride, k] of shapes) {
      const m = randomMatrix(rng, n, cols, stride);
      for (const metric of ["l2", "ip"] as const) {
        const g = exactKnnGraph(m, { k, metric, kernel: "js" });
        const ref = naiveGraph(m, k, metric === "l2");
        expect(g.rows).toBe(n);
        expect(g.k).toBe(k);
        expect(g.ids).toEqual(ref.ids);
        expect(g.scores).toEqual(ref.scores);
      }
    }
  });

  it("WebAssembly kernel: its own scores ranked exactly, and the double reference within float32 rounding", () => {
    const rng = new Rng(11);
    for (const [n, cols, stride, k] of shapes) {
      const m = randomMatrix(rng, n, cols, stride);
      for (const metric of ["l2", "ip"] as const) {
        const l2 = metric === "l2";
        const g = exactKnnGraph(m, { k, metric });
        expect(g.rows).toBe(n);
        expect(g.k).toBe(k);
        const own = spaceGraph(m, k, l2, "wasm");
        expect(g.ids).toEqual(own.ids);
        expect(g.scores).toEqual(own.scores);
        // |terms| <= 4 (l2) or 1 (ip) per dimension.
        const tol = 4 * cols * 2 ** -24 * (l2 ? 4 : 1);
        const checked = expectNearReference(g, naiveGraph(m, k + 1, l2), tol);
        if (n > 100) expect(checked).toBeGreaterThan(0.99);
      }
    }
  });

  it("breaks ties by the lower id (duplicated rows), both kernels", () => {
    const rng = new Rng(2);
    const base = randomMatrix(rng, 40, 6, 8);
    // Rows 40..119 repeat rows 0..39 twice: many exactly equal distances.
    const data = new Float32Array(120 * 8);
    for (let c = 0; c < 3; c++) data.set(base.data, c * 40 * 8);
    const m = { rows: 120, cols: 6, stride: 8, data };
    for (const kernel of ["wasm", "js"] as const) {
      for (const metric of ["l2", "ip"] as const) {
        const g = exactKnnGraph(m, { k: 7, metric, kernel });
        const ref = spaceGraph(m, 7, metric === "l2", kernel);
        expect(g.ids).toEqual(ref.ids);
        // Row 0's nearest (l2) are its two copies at distance 0, lower first.
        if (metric === "l2") {
          expect([...g.ids.subarray(0, 2)]).toEqual([40, 80]);
          expect([...g.scores.subarray(0, 2)]).toEqual([0, 0]);
        }
      }
    }
  });

  it("validates its input, naming the bad value", () => {
    const m = randomMatrix(new Rng(1), 4, 3, 4);
    expect(() => exactKnnGraph(m, { k: 0 })).toThrowError(/k must be a positive integer, but is 0/);
    expect(() => exactKnnGraph(m, { k: 2, metric: "cos" as "l2" })).toThrowError(
      /metric must be "l2" or "ip", but is "cos"/,
    );
    expect(() => exactKnnGraph(m, { k: 2, kernel: "simd" as "js" })).toThrowError(
      /kernel must be "auto", "wasm" or "js", but is "simd"/,
    );
    expect(() => exactKnnGraph({ ...m, stride: 2 }, { k: 2 })).toThrowError(
      /vectors.stride must be an integer >= cols = 3, but is 2/,
    );
    expect(() => exactKnnGraph({ ...m, rows: 5 }, { k: 2 })).toThrowError(
      /must hold at least 19 floats/,
    );
    expect(() =>
      exactKnnGraph({ ...m, data: [] as unknown as Float32Array }, { k: 2 }),
    ).toThrowError(expect.objectContaining({ name: "AnnexmlError", code: "BAD_INPUT" }));
    expect(() => exactKnnGraph(m, { k: 0 })).toThrowError(
      expect.objectContaining({ name: "AnnexmlError", code: "BAD_OPTION" }),
    );
  });
});

describe("approxKnnGraph", () => {
  const clustered = clusteredUnitVectors({ rows: 4000, cols: 50, stride: 56, seed: 3 });

  it("reaches recall >= 0.99 at k = 50 on clustered unit vectors, with exact scores", () => {
    const exact = exactKnnGraph(clustered, { k: 50 });
    const approx = approxKnnGraph(clustered, { k: 50, seed: 1 });
    const recall = recallAtK(approx, exact);
    // Measured 0.9998 (n = 4000, 300 centres around 20 themes).
    expect(recall).toBeGreaterThan(0.997);
    expectValidGraph(approx, clustered, true);
    // Uniform centres (no themes): neighbours 11..50 of a row are spread over
    // nearly equidistant clusters, the harder case. Measured 0.9823.
    const flat = clusteredUnitVectors({ rows: 4000, themes: 0, spread: 0.5, seed: 4 });
    const flatRecall = recallAtK(approxKnnGraph(flat, { k: 50 }), exactKnnGraph(flat, { k: 50 }));
    expect(flatRecall).toBeGreaterThan(0.97);
  });

  it("is deterministic by seed", () => {
    const a = approxKnnGraph(clustered, { k: 20, seed: 9 });
    const b = approxKnnGraph(clustered, { k: 20, seed: 9 });
    expect(a.ids).toEqual(b.ids);
    expect(a.scores).toEqual(b.scores);
    // Another seed groups differently (the graphs may differ) but stays valid.
    const c = approxKnnGraph(clustered, { k: 20, seed: 10, probes: 4 });
    const d = approxKnnGraph(clustered, { k: 20, seed: 11, probes: 4 });
    expect(c.ids).not.toEqual(d.ids);
    expectValidGraph(c, clustered, true);
  });

  it("inner product on real-data embeddings (bibtex projected to 50 dims)", async () => {
    const m = await bibtexEmbeddings(3000);
    const exact = exactKnnGraph(m, { k: 50, metric: "ip" });
    const approx = approxKnnGraph(m, { k: 50, metric: "ip", seed: 2 });
    expectValidGraph(approx, m, false);
    // Measured 0.954: randomly projected bag-of-words rows are far less
    // clustered than learned embeddings, so the floor is lower.
    expect(recallAtK(approx, exact)).toBeGreaterThan(0.94);
    // The exact graph of real data against the scalar reference on a slice.
    const slice = { ...m, rows: 700 };
    const checked = expectNearReference(
      exactKnnGraph(slice, { k: 10 }),
      naiveGraph(slice, 11, true),
      4 * 50 * 2 ** -24 * 4,
    );
    // Real distances crowd more than random ones: measured 0.989 of the
    // positions are clear of near-ties at this (worst-case) tolerance.
    expect(checked).toBeGreaterThan(0.98);
  });

  it("falls back to the exact graph for small inputs, through buildDenseKnnGraph too", () => {
    const m = clusteredUnitVectors({ rows: 300, seed: 5 });
    const exact = exactKnnGraph(m, { k: 12 });
    expect(approxKnnGraph(m, { k: 12 }).ids).toEqual(exact.ids);
    expect(buildDenseKnnGraph(m, { k: 12, method: "auto" }).ids).toEqual(exact.ids);
    expect(buildDenseKnnGraph(m, { k: 12, method: "exact" }).ids).toEqual(exact.ids);
    // Forced grouping on a small input still gives a valid graph.
    const forced = approxKnnGraph(m, { k: 12, exactBelow: 0, groupSize: 10, probes: 6 });
    expectValidGraph(forced, m, true);
    expect(recallAtK(forced, exact)).toBeGreaterThan(0.9);
    // The same through the JavaScript kernel.
    const js = approxKnnGraph(m, { k: 12, exactBelow: 0, groupSize: 10, probes: 6, kernel: "js" });
    expectValidGraph(js, m, true, "js");
    expect(recallAtK(js, exact)).toBeGreaterThan(0.9);
    expect(() => buildDenseKnnGraph(m, { k: 2, method: "fast" as "auto" })).toThrowError(
      /method must be "exact", "approx" or "auto", but is "fast"/,
    );
    expect(() => validateApproxKnnOptions({ k: 3, probes: 0 })).toThrowError(
      /probes must be a positive integer, but is 0/,
    );
    expect(() => validateApproxKnnOptions({ k: 3, iterations: -1 })).toThrowError(
      /iterations must be a non-negative integer, but is -1/,
    );
  });
});

/**
 * Output conventions: per row distinct ids, no self, best first (ties to the
 * lower id), scores equal to the metric recomputed by the same kernel
 * (WebAssembly: a pair has one value in every method of a space).
 * Returns the first violation (checked by hand: a million `expect`s are slow).
 */
function expectValidGraph(g: KnnResult, m: DenseMatrix, l2: boolean, kernel: SpaceKernel = "wasm") {
  const { k } = g;
  let problem = "";
  const space = createVectorSpace(m, { metric: l2 ? "l2" : "ip", capacity: 1, kernel });
  const seen = new Int32Array(g.rows).fill(-1);
  for (let i = 0; i < g.rows && !problem; i++) {
    for (let t = 0; t < k; t++) {
      const id = g.ids[i * k + t];
      if (id < 0) continue;
      if (id === i || seen[id] === i) problem = `row ${i}: self or repeated id ${id}`;
      seen[id] = i;
      space.ids[0] = id;
      space.toMany(1, i);
      const s = space.out[0];
      if (g.scores[i * k + t] !== s) problem = `row ${i}: score ${g.scores[i * k + t]} != ${s}`;
      if (t > 0) {
        const prev = g.scores[i * k + t - 1];
        const cur = g.scores[i * k + t];
        const prevId = g.ids[i * k + t - 1];
        if ((l2 ? prev > cur : prev < cur) || (prev === cur && prevId > id)) {
          problem = `row ${i}: out of order at ${t}`;
        }
      }
    }
  }
  expect(problem).toBe("");
}
