import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TopK } from "./top-k.js";

/** Scalar reference: sort everything by score descending, then id ascending. */
function naiveTopK(pairs: [number, number][], k: number) {
  return pairs
    .filter(([, s]) => !Number.isNaN(s))
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, k);
}

describe("TopK", () => {
  it("matches the sort-everything reference, ties to the lower id (property)", () => {
    const top = new TopK(0);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: -5, max: 5 })), {
          maxLength: 200,
        }),
        fc.integer({ min: 0, max: 20 }),
        (raw, k) => {
          // Unique ids, few distinct scores: many ties.
          const seen = new Set<number>();
          const pairs = raw.filter(([id]) => !seen.has(id) && seen.add(id)) as [number, number][];
          top.reset(k);
          for (const [id, s] of pairs) top.push(id, s);
          const ids = new Int32Array(k);
          const scores = new Float32Array(k);
          const n = top.drainSorted(ids, scores);
          const expected = naiveTopK(pairs, k);
          expect(n).toBe(expected.length);
          expect([...ids.subarray(0, n)]).toEqual(expected.map(([id]) => id));
          expect([...scores.subarray(0, n)]).toEqual(expected.map(([, s]) => s));
          expect(top.size).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("ignores NaN and reports the entry threshold", () => {
    const top = new TopK(2);
    top.push(1, Number.NaN);
    expect(top.threshold()).toBe(Number.NEGATIVE_INFINITY);
    top.push(2, 0.5);
    top.push(3, 0.7);
    expect(top.threshold()).toBe(0.5);
    top.push(4, 0.9);
    expect(top.threshold()).toBe(0.7);
    expect(() => new TopK(-1)).toThrowError(/capacity must be a non-negative integer, but is -1/);
  });
});
