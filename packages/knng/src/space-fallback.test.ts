import { describe, expect, it, vi } from "vitest";
import { exactKnnGraph } from "./dense-knn.js";
import { createVectorSpace, wasmSpaceAvailable } from "./space.js";
import { clusteredUnitVectors } from "./synthetic.js";

// A file of its own: the compiled module is cached per module graph, and
// vitest gives every test file a fresh one, so here WebAssembly is absent
// from the first compilation on.
describe("without WebAssembly", () => {
  it("falls back to the JavaScript kernel, and refuses an explicit wasm", () => {
    vi.stubGlobal("WebAssembly", undefined);
    try {
      expect(wasmSpaceAvailable()).toBe(false);
      const m = clusteredUnitVectors({ rows: 300, seed: 2 });
      expect(createVectorSpace(m).kernel).toBe("js");
      expect(() => createVectorSpace(m, { kernel: "wasm" })).toThrow(
        /kernel "wasm" is unavailable here/,
      );
      const auto = exactKnnGraph(m, { k: 5 });
      expect(auto.ids).toEqual(exactKnnGraph(m, { k: 5, kernel: "js" }).ids);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
