import { describe, expect, it } from "vitest";
import { validateCsr } from "./csr.js";
import { AnnexmlError, badInput, badOption } from "./errors.js";
import { TopK } from "./top-k.js";

describe("badOption / badInput", () => {
  it("make AnnexmlErrors without a location whose message is the reason", () => {
    const o = badOption("k must be a positive integer, but is 0");
    expect(o).toBeInstanceOf(AnnexmlError);
    expect(o).toMatchObject({
      name: "AnnexmlError",
      code: "BAD_OPTION",
      message: "k must be a positive integer, but is 0",
      reason: "k must be a positive integer, but is 0",
      file: undefined,
      line: undefined,
    });
    const i = badInput("features: indptr decreases at row 3");
    expect(i).toBeInstanceOf(AnnexmlError);
    expect(i).toMatchObject({ code: "BAD_INPUT", message: "features: indptr decreases at row 3" });
  });

  it("tell a bad option from malformed data, and both from a bug", () => {
    expect(() => new TopK(-1)).toThrow(
      expect.objectContaining({
        code: "BAD_OPTION",
        message: "capacity must be a non-negative integer, but is -1",
      }),
    );
    const unsorted = {
      rows: 1,
      cols: 4,
      indptr: Int32Array.of(0, 2),
      indices: Int32Array.of(2, 1),
    };
    expect(() => validateCsr(unsorted, "labels")).toThrow(
      expect.objectContaining({
        code: "BAD_INPUT",
        message: "labels: row 0 must have sorted unique indices in [0, 4), but has 1 after 2",
      }),
    );
    expect(() => validateCsr({ ...unsorted, indptr: [0, 2] as never })).toThrow(
      expect.objectContaining({ name: "AnnexmlError", code: "BAD_INPUT" }),
    );
  });
});
