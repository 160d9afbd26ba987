import { describe, expect, it } from "vitest";
import { validateDense } from "./dense.js";

describe("validateDense", () => {
  const ok = { rows: 3, cols: 3, stride: 4, data: new Float32Array(11) };

  it("accepts a matrix whose last row holds only cols floats, and the empty matrix", () => {
    expect(() => validateDense(ok)).not.toThrow();
    expect(() =>
      validateDense({ rows: 0, cols: 0, stride: 0, data: new Float32Array(0) }),
    ).not.toThrow();
  });

  it("names the bad field and value", () => {
    expect(() => validateDense({ ...ok, data: new Float32Array(10) }, "vectors")).toThrow(
      /^vectors.data must hold at least 11 floats for 3 rows of stride 4, but holds 10$/,
    );
    expect(() => validateDense({ ...ok, stride: 2 }, "vectors")).toThrow(
      /^vectors.stride must be an integer >= cols = 3, but is 2$/,
    );
    expect(() => validateDense({ ...ok, rows: 1.5 })).toThrow(
      /^matrix.rows must be a non-negative integer, but is 1.5$/,
    );
    expect(() => validateDense({ ...ok, cols: -1 })).toThrow(
      expect.objectContaining({ name: "AnnexmlError", code: "BAD_INPUT" }),
    );
    expect(() => validateDense({ ...ok, data: new Float64Array(11) as never })).toThrow(
      expect.objectContaining({ name: "AnnexmlError", code: "BAD_INPUT" }),
    );
    expect(() => validateDense(null as never, "q")).toThrow(/^q must be a DenseMatrix/);
  });
});
