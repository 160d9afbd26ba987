import type { DenseMatrix, LabelMatrix } from "@annexml/sparse-io";
import { Rng } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { knnVotePrecision } from "./precision.js";

function labels(sets: number[][], cols: number): LabelMatrix {
  const indptr = new Int32Array(sets.length + 1);
  sets.forEach((s, i) => {
    indptr[i + 1] = indptr[i] + s.length;
  });
  return { rows: sets.length, cols, indptr, indices: Int32Array.from(sets.flat()) };
}

function dense(rows: number[][], stride: number): DenseMatrix {
  const data = new Float32Array(rows.length * stride);
  rows.forEach((r, i) => {
    data.set(r, i * stride);
  });
  return { rows: rows.length, cols: rows[0].length, stride, data };
}

/** Scalar reference: sort all base rows, vote, sort labels, count hits. */
function reference(
  q: number[][],
  qLabels: number[][],
  b: number[][],
  bLabels: number[][],
  k: number,
  exclude: boolean,
) {
  const hits = [0, 0, 0, 0, 0];
  q.forEach((x, i) => {
    const scored = b
      .map((y, j) => ({ j, s: x.reduce((a, v, d) => a + v * y[d], 0) }))
      .filter(({ j }) => !(exclude && j === i));
    scored.sort((u, v) => v.s - u.s || u.j - v.j);
    const votes = new Map<number, number>();
    for (const { j } of scored.slice(0, k))
      for (const l of bLabels[j]) votes.set(l, (votes.get(l) ?? 0) + 1);
    const ranked = [...votes].sort((u, v) => v[1] - u[1] || u[0] - v[0]).slice(0, 5);
    ranked.forEach(([l], r) => {
      if (qLabels[i].includes(l)) hits[r]++;
    });
  });
  let c = 0;
  return hits.map((h, t) => {
    c += h;
    return c / q.length / (t + 1);
  });
}

describe("knnVotePrecision", () => {
  it("follows a hand-worked example: ties to the lower row and the lower label", () => {
    const base = dense(
      [
        [1, 0],
        [1, 0],
        [0, 1],
        [0.6, 0.8],
      ],
      4,
    );
    const baseLabels = labels([[3], [1], [2], [1, 2]], 4);
    // Query [1, 0]: scores 1, 1, 0, 0.6 -> k=2 takes rows 0 and 1 (tie), votes 3:1, 1:1 -> ranking 1, 3.
    const query = dense([[1, 0]], 4);
    const p = knnVotePrecision(query, labels([[3]], 4), base, baseLabels, { k: 2, top: 2 });
    expect(Array.from(p)).toEqual([0, 0.5]);
    const p3 = knnVotePrecision(query, labels([[1]], 4), base, baseLabels, { k: 3 });
    // k = 3 adds row 3 (0.6 > 0): votes 1:2, 2:1, 3:1 -> ranking 1, 2, 3.
    expect(Array.from(p3)).toEqual([1, 0.5, 1 / 3, 0.25, 0.2]);
  });

  it("matches the scalar reference on random data, with and without excluding self", () => {
    const rng = new Rng(4);
    const n = 60;
    const rows = Array.from({ length: n }, () =>
      Array.from({ length: 5 }, () => rng.nextInt(3) - 1),
    );
    const sets = Array.from({ length: n }, () =>
      [...new Set([rng.nextInt(8), rng.nextInt(8)])].sort(),
    );
    const m = dense(rows, 8);
    const l = labels(sets, 8);
    for (const excludeSelf of [false, true]) {
      const got = knnVotePrecision(m, l, m, l, { k: 7, excludeSelf });
      const want = reference(rows, sets, rows, sets, 7, excludeSelf);
      got.forEach((v, t) => {
        expect(v).toBeCloseTo(want[t], 12);
      });
    }
  });

  it("validates its arguments", () => {
    const m = dense([[1, 0]], 4);
    const l = labels([[0]], 1);
    expect(() => knnVotePrecision(m, l, m, l, { k: 0 })).toThrow(
      expect.objectContaining({
        code: "BAD_OPTION",
        message: "k must be a positive integer, but is 0",
      }),
    );
    expect(() => knnVotePrecision(m, labels([], 1), m, l)).toThrow(
      expect.objectContaining({
        code: "BAD_INPUT",
        message: expect.stringMatching(/^queryLabels must have 1 rows/),
      }),
    );
    expect(() => knnVotePrecision(m, l, dense([[1, 0, 0]], 4), l)).toThrow(/columns/);
  });
});
