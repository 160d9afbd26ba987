import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compactColumns, IdLookup, usedColumns } from "./id-map.js";
import type { LabelMatrix } from "./types.js";

function labels(rows: number[][], cols: number): LabelMatrix {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => {
    indptr[i + 1] = indptr[i] + r.length;
  });
  return { rows: rows.length, cols, indptr, indices: Int32Array.from(rows.flat()) };
}

describe("usedColumns", () => {
  it("lists the distinct ids in use, ascending", () => {
    expect([...usedColumns(labels([[1, 5], [5, 9], []], 10))]).toEqual([1, 5, 9]);
  });

  it("does not allocate by the largest id (2^31 - 1 in a two-row matrix)", () => {
    const before = process.memoryUsage().arrayBuffers;
    const ids = usedColumns(labels([[2147483646], [5]], 2147483647));
    expect([...ids]).toEqual([5, 2147483646]);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });
});

describe("IdLookup", () => {
  it("maps original ids to dense ones and back, -1 for unknown ids", () => {
    for (const ids of [Int32Array.of(2, 7, 8), Int32Array.of(3, 2000000000, 2147483647)]) {
      const lookup = new IdLookup(ids);
      ids.forEach((id, dense) => {
        expect(lookup.dense(id)).toBe(dense);
      });
      for (const unknown of [-1, 0, 4, 9, 2147483646, 1e10]) expect(lookup.dense(unknown)).toBe(-1);
      expect(lookup.size).toBe(3);
    }
  });

  it("refuses ids that are not ascending and unique", () => {
    expect(() => new IdLookup(Int32Array.of(1, 1))).toThrow(/ascending, unique/);
    expect(() => new IdLookup(Int32Array.of(3, 2))).toThrow(/ascending, unique/);
    expect(() => new IdLookup(Int32Array.of(-1))).toThrow(/non-negative/);
  });
});

describe("compactColumns", () => {
  it("returns the matrix itself when every column is used", () => {
    const m = labels([[0, 1], [2]], 3);
    const out = compactColumns(m);
    expect(out.ids).toBeNull();
    expect(out.matrix).toBe(m);
  });

  it("renumbers in order, leaving the input as it was unless inPlace", () => {
    const m = labels([[4, 10], [10, 2147483647], []], 2147483648 - 1 + 1);
    const before = m.indices.slice();
    const { matrix, ids } = compactColumns(m);
    expect([...(ids ?? [])]).toEqual([4, 10, 2147483647]);
    expect(matrix.cols).toBe(3);
    expect([...matrix.indices]).toEqual([0, 1, 1, 2]);
    expect(m.indices).toEqual(before);
    const inPlace = compactColumns(m, { inPlace: true });
    expect(inPlace.matrix.indices).toBe(m.indices);
    expect([...m.indices]).toEqual([0, 1, 1, 2]);
  });

  it("maps back to the original rows, sorted rows staying sorted", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 31 - 2 }), { maxLength: 6 }), {
          maxLength: 20,
        }),
        (rows) => {
          const sorted = rows.map((r) => [...r].sort((a, b) => a - b));
          const m = labels(sorted, 2 ** 31 - 1);
          const { matrix, ids } = compactColumns(m);
          const back = ids ? [...matrix.indices].map((d) => ids[d]) : [...matrix.indices];
          expect(back).toEqual(sorted.flat());
          for (let r = 0; r < matrix.rows; r++) {
            for (let p = matrix.indptr[r] + 1; p < matrix.indptr[r + 1]; p++)
              expect(matrix.indices[p]).toBeGreaterThan(matrix.indices[p - 1]);
          }
        },
      ),
    );
  });
});
