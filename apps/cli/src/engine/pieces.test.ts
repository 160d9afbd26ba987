import { describe, expect, it } from "vitest";
import { guidedPieces, splitRows } from "./predict-file.js";

describe("pieces of a prediction batch", () => {
  it("guidedPieces covers the rows in order, in shrinking pieces of at least 16 rows", () => {
    for (const [n, threads] of [
      [2515, 2],
      [3828, 4],
      [1, 2],
      [40, 3],
      [8192, 2],
    ]) {
      const pieces = guidedPieces(n, threads);
      expect(pieces[0][0]).toBe(0);
      expect(pieces[pieces.length - 1][1]).toBe(n);
      for (let i = 0; i < pieces.length; i++) {
        const [from, to] = pieces[i];
        expect(to).toBeGreaterThan(from);
        if (i > 0) expect(from).toBe(pieces[i - 1][1]);
        if (i < pieces.length - 1) {
          expect(to - from).toBeGreaterThanOrEqual(16);
          if (i > 0) expect(to - from).toBeLessThanOrEqual(pieces[i - 1][1] - pieces[i - 1][0]);
        }
      }
    }
    // A quarter of the rows left per thread first: 2515 rows, 2 threads.
    expect(guidedPieces(2515, 2).slice(0, 2)).toEqual([
      [0, 315],
      [315, 590],
    ]);
    expect(guidedPieces(0, 2)).toEqual([[0, 0]]);
  });

  it("splitRows cuts n rows into at most `pieces` equal ranges", () => {
    expect(splitRows(10, 3)).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
  });
});
