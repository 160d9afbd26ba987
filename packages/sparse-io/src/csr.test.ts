import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  columnCounts,
  normalizeRows,
  rowView,
  selectRows,
  transpose,
  transposeLabels,
  validateCsr,
} from "./csr.js";
import { parseDataset } from "./parser.js";

const data = parseDataset("4 6 4\n0,2 1:3 4:4\n1 0:1\n 2:2 3:-2 5:1\n2,3\n");

describe("CSR kernels", () => {
  it("normalises rows to unit length like the scalar definition", () => {
    const m = parseDataset("1 1:3 4:4\n2 0:0\n3 2:2 3:-2 5:1\n").features;
    const reference = [...m.values];
    normalizeRows(m);
    // Scalar reference: v / sqrt(sum v^2) per row, zero rows untouched.
    expect([...m.values]).toEqual([0.6, 0.8, 0, 2 / 3, -2 / 3, 1 / 3].map((v) => Math.fround(v)));
    expect(reference).toEqual([3, 4, 0, 2, -2, 1]);
  });

  it("normalises random rows to norm 1 within float32 precision (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (vs) => {
          const values = Float32Array.from(vs);
          const m = {
            rows: 1,
            cols: vs.length,
            indptr: Int32Array.of(0, vs.length),
            indices: Int32Array.from(vs.keys()),
            values,
          };
          const norm = Math.hypot(...values);
          normalizeRows(m);
          const after = Math.hypot(...m.values);
          if (norm > 0) expect(after).toBeCloseTo(1, 5);
          else expect(after).toBe(norm);
        },
      ),
    );
  });

  it("transposes labels into an inverted index and back", () => {
    const t = transposeLabels(data.labels);
    expect(t.rows).toBe(4);
    expect(t.cols).toBe(4);
    expect([...t.indptr]).toEqual([0, 1, 2, 4, 5]);
    expect([...t.indices]).toEqual([0, 1, 0, 3, 3]);
    const back = transposeLabels(t);
    expect(back.indptr).toEqual(data.labels.indptr);
    expect(back.indices).toEqual(data.labels.indices);
    validateCsr(t, "transposed");
  });

  it("transposes values with their entries", () => {
    const t = transpose(data.features);
    expect(t.rows).toBe(6);
    expect([...t.indices.subarray(t.indptr[1], t.indptr[2])]).toEqual([0]);
    expect([...t.values.subarray(t.indptr[3], t.indptr[4])]).toEqual([-2]);
  });

  it("counts rows per column", () => {
    expect([...columnCounts(data.labels)]).toEqual([1, 1, 2, 1]);
  });

  it("selects rows in the given order", () => {
    const s = selectRows(data.features, [2, 0]);
    expect(s.rows).toBe(2);
    expect([...s.indices]).toEqual([2, 3, 5, 1, 4]);
    expect([...s.values]).toEqual([2, -2, 1, 3, 4]);
    expect([...rowView(s, 1).indices]).toEqual([1, 4]);
    expect(() => selectRows(data.features, [4])).toThrowError(
      expect.objectContaining({ code: "BAD_OPTION", message: "row 4 is out of range [0, 4)" }),
    );
    expect("values" in selectRows(data.labels, [3])).toBe(false);
  });

  it("validates the CSR invariants", () => {
    expect(() => validateCsr(data.features, "features")).not.toThrow();
    const bad = { ...data.labels, indices: Int32Array.of(2, 0, 1, 2, 3) };
    expect(() => validateCsr(bad, "labels")).toThrowError(
      /labels: row 0 must have sorted unique indices/,
    );
    expect(() => validateCsr({ ...data.labels, indptr: new Int32Array(3) })).toThrowError(
      /rows \+ 1 = 5/,
    );
  });
});
