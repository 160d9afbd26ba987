import { describe, expect, it } from "vitest";
import { buildIndex } from "./build.js";
import { searchScratch } from "./indexes.js";
import { denseRow, themedVectors } from "./testing.js";

// A file of its own: vitest gives each test file fresh modules, so the
// thread's scratch starts empty here (other files' searches have grown theirs).
const { X, Q } = themedVectors({
  rows: 1500,
  queries: 100,
  dim: 20,
  centres: 30,
  noise: 0.15,
  seed: 21,
});

describe("search scratch", () => {
  it("is shared by indexes of different sizes: grows for the largest, never shrinks", () => {
    expect(searchScratch.candDist.length).toBe(0);
    const small = buildIndex("graph", { ...X, rows: 300 }, { numEdges: 8 });
    const large = buildIndex("graph", X, { numEdges: 16 });
    const b = small.searchBatch(Q, 10);
    expect(searchScratch.candDist.length).toBe(300);
    const a = large.searchBatch(Q, 10);
    expect(searchScratch.candDist.length).toBe(1500);
    const grown = searchScratch.candDist;
    // Interleaved searches give the same results as separate ones, and the
    // small index searches in the large one's buffers (no new allocation).
    for (let q = 0; q < Q.rows; q++) {
      expect(large.search(denseRow(Q, q), 10).ids).toEqual(a.ids.subarray(q * 10, q * 10 + 10));
      expect(small.search(denseRow(Q, q), 10).ids).toEqual(b.ids.subarray(q * 10, q * 10 + 10));
    }
    expect(searchScratch.candDist).toBe(grown);
  });
});
