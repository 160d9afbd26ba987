import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RowHeaps } from "./row-heaps.js";

describe("RowHeaps", () => {
  it("keeps the k best per row, ties to the lower id (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: -4, max: 4 })), {
          maxLength: 120,
        }),
        fc.integer({ min: 1, max: 9 }),
        (raw, k) => {
          const heaps = new RowHeaps(3, k);
          const offered: [number, number][][] = [[], [], []];
          raw.forEach(([r, key], id) => {
            offered[r].push([id, key]);
            if (heaps.admits(r, id, key)) heaps.insert(r, id, key);
            expect(heaps.insertUnique(r, id, key)).toBe(false); // already held or not admitted
          });
          const g = heaps.drain(1);
          for (let r = 0; r < 3; r++) {
            const ref = offered[r].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
            const ids = [...g.ids.subarray(r * k, (r + 1) * k)];
            expect(ids).toEqual([...ref.map(([id]) => id), ...Array(k - ref.length).fill(-1)]);
            expect([...g.scores.subarray(r * k, r * k + ref.length)]).toEqual(
              ref.map(([, key]) => key),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
