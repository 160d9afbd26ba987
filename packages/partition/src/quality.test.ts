import { labelKnnGraph } from "@annexml/knng";
import { describe, expect, it } from "vitest";
import { partitionSizes, samePartitionFraction } from "./quality.js";
import { createPartitioner } from "./registry.js";
import { bundledTrain, Rng } from "./test-util.js";

/**
 * Same-partition fraction of the label-kNN pairs (k = 10 over all rows, no
 * pruning) on the bundled sets with clusterSize 1500. Measured (this
 * implementation, default options) over seeds 1-8 and the default 0x5eed:
 *   bibtex    K=3: kmeans 0.671-0.793 (mean 0.724), mincut 0.747-0.810 (mean 0.785), random 0.336
 *   delicious K=8: kmeans 0.354-0.453 (mean 0.386), mincut 0.416-0.447 (mean 0.431), random 0.124
 * Min-cut leads on average (by 0.061 and 0.045) and varies less, but not on
 * every seed: k-means is ahead with seed 5 on bibtex (by 0.014) and seed 8 on
 * delicious (by 0.037). So each seed is held to what held on all nine: each
 * partitioner inside its measured range (+-0.02), far above random, and
 * min-cut at most 0.05 behind k-means. The seeds tested are the default and
 * the one where k-means leads most.
 */
const expected = {
  bibtex: {
    k: 3,
    seeds: [0x5eed, 5],
    kmeans: [0.671, 0.793],
    mincut: [0.747, 0.81],
    random: 0.336,
    // Lead over random that every seed kept, less 0.02.
    kmeansOverRandom: 0.31,
    mincutOverRandom: 0.39,
  },
  delicious: {
    k: 8,
    seeds: [0x5eed, 8],
    kmeans: [0.354, 0.453],
    mincut: [0.416, 0.447],
    random: 0.124,
    kmeansOverRandom: 0.21,
    mincutOverRandom: 0.27,
  },
} as const;

function randomAssignment(n: number, k: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const a = new Int32Array(n);
  for (let r = 0; r < n; r++) a[r] = rng.nextInt(k);
  return a;
}

describe("partition quality on real data (clusterSize 1500)", () => {
  for (const name of ["bibtex", "delicious"] as const) {
    const want = expected[name];
    for (const seed of want.seeds) {
      it(`${name}, seed ${seed}: both keep far more label neighbours together than random, mincut near or ahead of kmeans`, async () => {
        const d = await bundledTrain(name);
        const graph = labelKnnGraph(d.labels, { k: 10 });
        const fraction: Record<string, number> = {};
        for (const p of ["kmeans", "mincut"] as const) {
          const model = createPartitioner(p).fit(d.features, d.labels, { clusterSize: 1500, seed });
          expect(model.k).toBe(want.k);
          const assignment = model.assignAll(d.features);
          fraction[p] = samePartitionFraction(assignment, graph);
          const sizes = partitionSizes(assignment, model.k);
          expect(Math.min(...sizes), `${p}: an empty partition`).toBeGreaterThan(0);
          // Every partition holds a real share of the rows (at least 10% of N / K).
          expect(Math.min(...sizes)).toBeGreaterThan((0.1 * d.features.rows) / model.k);
          expect(fraction[p], p).toBeGreaterThan(want[p][0] - 0.02);
          expect(fraction[p], p).toBeLessThan(want[p][1] + 0.02);
        }
        const random = samePartitionFraction(
          randomAssignment(d.features.rows, want.k, seed),
          graph,
        );
        expect(random).toBeGreaterThan(want.random - 0.02);
        expect(random).toBeLessThan(want.random + 0.02);
        expect(fraction.kmeans).toBeGreaterThan(random + want.kmeansOverRandom);
        expect(fraction.mincut).toBeGreaterThan(random + want.mincutOverRandom);
        expect(fraction.mincut).toBeGreaterThan(fraction.kmeans - 0.05);
      });
    }
  }
});
