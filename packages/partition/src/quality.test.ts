import { labelKnnGraph } from "@annexml/knng";
import { describe, expect, it } from "vitest";
import { partitionSizes, samePartitionFraction } from "./quality.js";
import { createPartitioner } from "./registry.js";
import { bundledTrain, Rng } from "./test-util.js";

/**
 * Same-partition fraction of the label-kNN pairs (k = 10 over all rows, no
 * pruning) on the bundled sets with clusterSize 1500 and the default seed.
 * Measured (this implementation, default options):
 *   bibtex    K=3: kmeans 0.6963, mincut 0.7470, random 0.3364 (min partition 699 / 1473 rows)
 *   delicious K=8: kmeans 0.3910, mincut 0.4242, random 0.1237 (min partition 695 / 969 rows)
 * Across seeds 1..4, mincut leads kmeans on average by 0.07 (bibtex) and
 * 0.05 (delicious); one bibtex seed has kmeans ahead, so the test pins the
 * default seed. The bounds leave about +-0.02 of slack around the figures.
 */
const expected = {
  bibtex: { k: 3, kmeans: 0.6963, mincut: 0.747, random: 0.3364 },
  delicious: { k: 8, kmeans: 0.391, mincut: 0.4242, random: 0.1237 },
} as const;

function randomAssignment(n: number, k: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const a = new Int32Array(n);
  for (let r = 0; r < n; r++) a[r] = rng.nextInt(k);
  return a;
}

describe("partition quality on real data (clusterSize 1500)", () => {
  for (const name of ["bibtex", "delicious"] as const) {
    it(`${name}: mincut keeps clearly more label neighbours together than kmeans, both beat random`, async () => {
      const d = await bundledTrain(name);
      const graph = labelKnnGraph(d.labels, { k: 10 });
      const want = expected[name];
      const fraction: Record<string, number> = {};
      for (const p of ["kmeans", "mincut"]) {
        const model = createPartitioner(p).fit(d.features, d.labels, { clusterSize: 1500 });
        expect(model.k).toBe(want.k);
        const assignment = model.assignAll(d.features);
        fraction[p] = samePartitionFraction(assignment, graph);
        const sizes = partitionSizes(assignment, model.k);
        expect(Math.min(...sizes), `${p}: an empty partition`).toBeGreaterThan(0);
        // Every partition holds a real share of the rows (at least 10% of N / K).
        expect(Math.min(...sizes)).toBeGreaterThan((0.1 * d.features.rows) / model.k);
      }
      fraction.random = samePartitionFraction(randomAssignment(d.features.rows, want.k, 1), graph);
      for (const key of ["kmeans", "mincut", "random"] as const) {
        expect(fraction[key], key).toBeGreaterThan(want[key] - 0.02);
        expect(fraction[key], key).toBeLessThan(want[key] + 0.02);
      }
      expect(fraction.mincut).toBeGreaterThan(fraction.kmeans + 0.025);
      expect(fraction.kmeans).toBeGreaterThan(fraction.random + 0.2);
    });
  }
});
