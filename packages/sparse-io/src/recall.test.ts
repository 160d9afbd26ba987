import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { recallAtK } from "./recall.js";

const ids = (...x: number[]) => new Int32Array(x);

/** The definition, one exact id at a time (O(k^2) per row). */
function naiveRecall(
  approx: { k: number; ids: Int32Array },
  exact: { rows: number; k: number; ids: Int32Array },
  k: number,
): number {
  let found = 0;
  let total = 0;
  for (let r = 0; r < exact.rows; r++) {
    const row = [...approx.ids.subarray(r * approx.k, r * approx.k + k)];
    for (let j = 0; j < k; j++) {
      const id = exact.ids[r * exact.k + j];
      if (id < 0) continue;
      total++;
      if (row.includes(id)) found++;
    }
  }
  return total === 0 ? 1 : found / total;
}

describe("recallAtK", () => {
  it("counts the exact ids found among the first k, skipping missing ones", () => {
    const exact = { rows: 2, k: 3, ids: ids(1, 2, 3, 4, 5, -1), scores: new Float32Array(6) };
    const approx = { rows: 2, k: 3, ids: ids(3, 9, 1, 5, 4, 6), scores: new Float32Array(6) };
    expect(recallAtK(approx, exact)).toBeCloseTo(4 / 5, 10);
    expect(recallAtK(approx, exact, 1)).toBeCloseTo(0 / 2, 10);
    expect(() => recallAtK(approx, exact, 4)).toThrow(
      expect.objectContaining({ code: "BAD_OPTION", message: expect.stringMatching(/^k must be/) }),
    );
  });

  it("counts the exact graph's edges found, ignoring -1 on both sides", () => {
    const exact = { rows: 2, k: 2, ids: ids(1, 2, 0, -1), scores: new Float32Array(4) };
    const approx = { rows: 2, k: 2, ids: ids(2, 3, -1, -1), scores: new Float32Array(4) };
    expect(recallAtK(approx, exact)).toBeCloseTo(1 / 3);
    expect(recallAtK(exact, exact)).toBe(1);
    expect(
      recallAtK({ ...approx, ids: ids(-1, -1, -1, -1) }, { ...exact, ids: ids(-1, -1, -1, -1) }),
    ).toBe(1);
    expect(() => recallAtK({ ...approx, rows: 3 }, exact)).toThrowError(
      expect.objectContaining({
        code: "BAD_INPUT",
        message: expect.stringMatching(/^approx must have/),
      }),
    );
  });

  it("matches the definition on random lists of different widths (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.infiniteStream(fc.integer({ min: -1, max: 12 })),
        (k, extraA, extraE, rows, stream) => {
          const draw = (n: number) => Int32Array.from({ length: n }, () => stream.next().value);
          const approx = {
            rows,
            k: k + extraA,
            ids: draw(rows * (k + extraA)),
            scores: new Float32Array(0),
          };
          const exact = {
            rows,
            k: k + extraE,
            ids: draw(rows * (k + extraE)),
            scores: new Float32Array(0),
          };
          expect(recallAtK(approx, exact, k)).toBe(naiveRecall(approx, exact, k));
        },
      ),
      { numRuns: 300 },
    );
  });
});
