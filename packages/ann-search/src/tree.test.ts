import type { DenseMatrix } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { clusteredUnitVectors } from "./synthetic.js";
import type { BisectionTree } from "./tree.js";
import { buildBisectionTree } from "./tree.js";

/** Rows below each split node, by walking the tree (reference, recursive). */
function rowsOf(tree: BisectionTree, ref: number): number[] {
  if (ref < 0) {
    const l = ~ref;
    return Array.from(tree.leafRows.subarray(tree.leafPtr[l], tree.leafPtr[l + 1]));
  }
  return [
    ...rowsOf(tree, tree.splitChildren[2 * ref]),
    ...rowsOf(tree, tree.splitChildren[2 * ref + 1]),
  ];
}

function mean(m: DenseMatrix, rows: number[]): Float64Array {
  const c = new Float64Array(m.cols);
  for (const r of rows) for (let j = 0; j < m.cols; j++) c[j] += m.data[r * m.stride + j];
  for (let j = 0; j < m.cols; j++) c[j] /= rows.length;
  return c;
}

describe("buildBisectionTree", () => {
  const X = clusteredUnitVectors({ rows: 3000, dim: 20, centres: 30, noise: 0.15, seed: 3 });

  it("puts every row in exactly one leaf of at most leafSize rows, leaves in depth-first order", () => {
    const tree = buildBisectionTree(X, 10, 7);
    const leaves = tree.leafPtr.length - 1;
    const splits = tree.splitOffsets.length;
    expect(leaves).toBe(splits + 1);
    expect(Array.from(tree.leafRows).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 3000 }, (_, i) => i),
    );
    for (let l = 0; l < leaves; l++) {
      const size = tree.leafPtr[l + 1] - tree.leafPtr[l];
      expect(size).toBeGreaterThan(0);
      expect(size).toBeLessThanOrEqual(10);
    }
    // Walking the tree left to right visits leafRows in order.
    expect(rowsOf(tree, 0)).toEqual(Array.from(tree.leafRows));
  });

  it("stores at each split the unit plane between the children's centres", () => {
    for (const iterations of [0, 3]) {
      const tree = buildBisectionTree(X, 10, 7, iterations);
      for (const s of [0, 1, 5, tree.splitOffsets.length - 1]) {
        const cl = mean(X, rowsOf(tree, tree.splitChildren[2 * s]));
        const cr = mean(X, rowsOf(tree, tree.splitChildren[2 * s + 1]));
        let norm = 0;
        let off = 0;
        for (let j = 0; j < X.cols; j++) {
          norm += (cr[j] - cl[j]) ** 2;
          off += (cr[j] * cr[j] - cl[j] * cl[j]) / 2;
        }
        norm = Math.sqrt(norm);
        for (let j = 0; j < X.cols; j++) {
          expect(tree.splitNormals[s * X.cols + j]).toBeCloseTo((cr[j] - cl[j]) / norm, 5);
        }
        expect(tree.splitOffsets[s]).toBeCloseTo(off / norm, 5);
      }
    }
  });

  it("splits like the original without refinement: b differs from b0 and a, left iff nearer a", () => {
    // Two rows: b0 is one, a the other, and no third row can be b, so b = a
    // and the plane degenerates: the node stays a leaf (as in the original).
    const pair = buildBisectionTree(
      { rows: 2, cols: 2, stride: 2, data: new Float32Array([1, 0, 0, 1]) },
      1,
      5,
      0,
    );
    expect(pair.leafPtr).toEqual(new Int32Array([0, 2]));
    // Three rows on a line at 0, 1 and 10: whatever b0, a and b are the ends
    // (0 and 10), and row 1 goes with 0.
    const line = buildBisectionTree(
      { rows: 3, cols: 1, stride: 1, data: new Float32Array([10, 0, 1]) },
      1,
      5,
      0,
    );
    const leaves = [];
    for (let l = 0; l + 1 < line.leafPtr.length; l++) {
      leaves.push(Array.from(line.leafRows.subarray(line.leafPtr[l], line.leafPtr[l + 1])).sort());
    }
    expect(leaves.sort((a, b) => a.length - b.length)).toEqual([[0], [1, 2]]);
  });

  it("with refinement, sends every row to its nearer child centre and separates clear clusters", () => {
    // Two tight clusters, at +e0 and -e0: the root must split them exactly.
    const two = clusteredUnitVectors({ rows: 600, dim: 8, centres: 2, noise: 0.05, seed: 4 });
    const tree = buildBisectionTree(two, 10, 1, 3);
    const left = rowsOf(tree, tree.splitChildren[0]);
    const right = rowsOf(tree, tree.splitChildren[1]);
    const cl = mean(two, left);
    const cr = mean(two, right);
    const dist = (r: number, c: Float64Array) => {
      let s = 0;
      for (let j = 0; j < two.cols; j++) s += (two.data[r * two.stride + j] - c[j]) ** 2;
      return s;
    };
    for (const r of left) expect(dist(r, cl)).toBeLessThan(dist(r, cr));
    for (const r of right) expect(dist(r, cr)).toBeLessThanOrEqual(dist(r, cl));
    // Rows of one cluster are mutually close (|u - v|^2 < 1): each side is one cluster.
    const close = (u: number, v: number) => {
      let s = 0;
      for (let j = 0; j < two.cols; j++)
        s += (two.data[u * two.stride + j] - two.data[v * two.stride + j]) ** 2;
      return s < 1;
    };
    expect(left.every((r) => close(r, left[0]))).toBe(true);
    expect(right.every((r) => close(r, right[0]))).toBe(true);
  });

  it("is deterministic in the seed and differs between seeds", () => {
    const a = buildBisectionTree(X, 10, 7);
    const b = buildBisectionTree(X, 10, 7);
    const c = buildBisectionTree(X, 10, 8);
    expect(b.leafRows).toEqual(a.leafRows);
    expect(b.splitNormals).toEqual(a.splitNormals);
    expect(c.leafRows).not.toEqual(a.leafRows);
  });

  it("makes a node of identical rows one leaf, whatever its size", () => {
    const data = new Float32Array(100 * 4);
    for (let r = 0; r < 100; r++) data.set(r < 60 ? [1, 0, 0, 0] : [0, 1, 0, 0], r * 4);
    const tree = buildBisectionTree({ rows: 100, cols: 4, stride: 4, data }, 5, 1);
    const sizes = [];
    for (let l = 0; l + 1 < tree.leafPtr.length; l++)
      sizes.push(tree.leafPtr[l + 1] - tree.leafPtr[l]);
    expect(sizes.sort((a, b) => a - b)).toEqual([40, 60]);
  });

  it("handles 0 and 1 rows, and many small leaves", () => {
    const empty = buildBisectionTree(
      { rows: 0, cols: 3, stride: 4, data: new Float32Array(0) },
      10,
      1,
    );
    expect(empty.leafPtr).toEqual(new Int32Array([0]));
    expect(empty.splitOffsets.length).toBe(0);
    const one = buildBisectionTree(
      { rows: 1, cols: 3, stride: 4, data: new Float32Array(4) },
      10,
      1,
    );
    expect(one.leafPtr).toEqual(new Int32Array([0, 1]));
    // Distinct points on a line, unevenly spaced, leaf size 1: leaves of one
    // row, or two (a pair cannot be split, see above).
    const n = 20000;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = 1.001 ** i;
    const deep = buildBisectionTree({ rows: n, cols: 1, stride: 1, data }, 1, 3);
    for (let l = 0; l + 1 < deep.leafPtr.length; l++) {
      expect(deep.leafPtr[l + 1] - deep.leafPtr[l]).toBeLessThanOrEqual(2);
    }
  });
});
