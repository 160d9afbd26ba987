import { readDataset, recallAtK } from "@annexml/sparse-io";
import { beforeAll, describe, expect, it } from "vitest";
import { buildIndex } from "./build.js";
import { clusteredUnitVectors } from "./synthetic.js";
import { projectRows } from "./testing.js";

/**
 * Recall@10 of the graph index at default settings against the brute-force
 * index on the same vectors (the acceptance bar is 0.95).
 */
describe("graph index recall@10 at default settings", () => {
  it("20,000 clustered unit vectors in 50 dimensions around 200 centres", () => {
    const X = clusteredUnitVectors({ rows: 20000, dim: 50, centres: 200, noise: 0.1, seed: 1 });
    const Q = clusteredUnitVectors({
      rows: 500,
      dim: 50,
      centres: 200,
      noise: 0.1,
      seed: 2,
      centreSeed: 1,
    });
    const exact = buildIndex("bruteForce", X).searchBatch(Q, 10);
    const graph = buildIndex("graph", X);
    const recall = recallAtK(graph.searchBatch(Q, 10), exact);
    // Measured 0.964; a plain kNN graph with the original's single-leaf
    // descent stays near 0.83 here (the clusters' graphs are disconnected).
    expect(recall).toBeGreaterThanOrEqual(0.95);
    const wider = recallAtK(graph.searchBatch(Q, 10, { eps: 0.2, leaves: 4 }), exact);
    expect(wider).toBeGreaterThanOrEqual(recall);
  });

  describe("bibtex rows projected to 50 dimensions", () => {
    let train: ReturnType<typeof projectRows>;
    let test: ReturnType<typeof projectRows>;
    beforeAll(async () => {
      const tr = await readDataset(
        new URL("../../../data/bibtex/train.txt", import.meta.url).pathname,
      );
      const te = await readDataset(
        new URL("../../../data/bibtex/test.txt", import.meta.url).pathname,
      );
      train = projectRows(tr.features, 50, 17);
      test = projectRows(te.features, 50, 17, tr.features.cols);
    });

    it("test rows as queries, at default settings and with the original's", () => {
      expect(train.rows).toBe(4880);
      const exact = buildIndex("bruteForce", train).searchBatch(test, 10);
      const graph = buildIndex("graph", train);
      const recall = recallAtK(graph.searchBatch(test, 10), exact);
      expect(recall).toBeGreaterThanOrEqual(0.95);
      const original = buildIndex("graph", train, { order: "lifo", leaves: 1, splitIterations: 0 });
      expect(recallAtK(original.searchBatch(test, 10), exact)).toBeGreaterThanOrEqual(0.9);
    });
  });
});
