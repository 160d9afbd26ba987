import { describe, expect, it } from "vitest";
import { balanceBiases, centreScores, partCapacity } from "./balance.js";
import { fitKmeans } from "./kmeans.js";
import { fitMincut } from "./mincut.js";
import { partitionModelFromArrays } from "./model.js";
import { partitionSizes } from "./quality.js";
import { bundledTrain, Rng } from "./test-util.js";
import { fitTree } from "./tree.js";

/** Sizes of `argmax_c scores + bias` (lowest c on ties), the rule `assign` uses. */
function biasedSizes(scores: Float64Array, n: number, k: number, bias: Float32Array): Int32Array {
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) {
      if (scores[i * k + c] + bias[c] > scores[i * k + best] + bias[best]) best = c;
    }
    sizes[best]++;
  }
  return sizes;
}

describe("partCapacity", () => {
  it("is balance x N / K rounded up, at least the even share, N when off", () => {
    expect(partCapacity(1000, 10, 1.5)).toBe(150);
    expect(partCapacity(1001, 10, 1)).toBe(101);
    expect(partCapacity(1000, 10, 1.1)).toBe(110);
    expect(partCapacity(1000, 10, 0)).toBe(1000);
    expect(partCapacity(1000, 1, 2)).toBe(1000);
    expect(partCapacity(10, 3, 1000)).toBe(10);
  });
});

describe("balanceBiases", () => {
  it("bounds every part by the capacity when one centre attracts most rows", () => {
    const rng = new Rng(3);
    const n = 5000;
    const k = 8;
    const scores = new Float64Array(n * k);
    // Centre 0 wins for ~73% of the rows; ties included (rounded scores).
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        const s = rng.nextFloat() + (c === 0 ? 0.6 : 0);
        scores[i * k + c] = Math.round(s * 64) / 64;
      }
    }
    const none = biasedSizes(scores, n, k, new Float32Array(k));
    expect(none[0]).toBeGreaterThan(0.7 * n);
    for (const balance of [1.1, 1.2, 2]) {
      const capacity = partCapacity(n, k, balance);
      const bias = balanceBiases(scores, n, k, capacity);
      const sizes = biasedSizes(scores, n, k, bias);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(capacity);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
      for (const b of bias) expect(b).toBeLessThanOrEqual(0);
    }
  });

  it("returns zeros when nothing is over capacity, and is deterministic", () => {
    const rng = new Rng(5);
    const n = 400;
    const k = 4;
    const scores = new Float64Array(n * k);
    for (let i = 0; i < n; i++) scores[i * k + (i % k)] = 1 + rng.nextFloat();
    expect([...balanceBiases(scores, n, k, 100)]).toEqual([0, 0, 0, 0]);
    scores.fill(0);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) scores[i * k + c] = rng.nextFloat();
    for (let i = 0; i < n; i++) scores[i * k] += 0.5;
    const a = balanceBiases(scores, n, k, 110);
    expect(a[0]).toBeLessThan(0);
    expect([...balanceBiases(scores, n, k, 110)]).toEqual([...a]);
  });
});

describe("balanced partitioners (bibtex)", () => {
  it("min-cut, k-means and the tree keep every training partition within balance x N / K; the bias survives the arrays", async () => {
    const { features, labels } = await bundledTrain("bibtex");
    const n = features.rows;
    for (const [name, fit, k] of [
      ["mincut", fitMincut, 6],
      ["kmeans", fitKmeans, 6],
      ["tree", fitTree, 20],
    ] as const) {
      const options = { k, iters: 2, treeBranching: 4 };
      const free = partitionSizes(fit(features, labels, options).assignAll(features), k);
      const model = fit(features, labels, { ...options, balance: 1.2 });
      const sizes = partitionSizes(model.assignAll(features), k);
      const capacity = partCapacity(n, k, 1.2);
      expect(Math.max(...free), name).toBeGreaterThan(capacity); // unbalanced without the bound
      if (name !== "tree") expect(Math.max(...sizes), name).toBeLessThanOrEqual(capacity);
      // A tree balances each node on its own rows (upper nodes: on samples),
      // so its leaves stay near, not exactly at, the bound.
      else expect(Math.max(...sizes), name).toBeLessThanOrEqual(1.6 * capacity);
      const arrays = model.toArrays();
      expect(arrays.bias).toBeInstanceOf(Float32Array);
      const again = partitionModelFromArrays(arrays);
      expect([...again.assignAll(features)]).toEqual([...model.assignAll(features)]);
    }
  });

  it("the biases are exactly what makes the assignment balanced (centreScores + bias)", async () => {
    const { features, labels } = await bundledTrain("bibtex");
    const model = fitMincut(features, labels, { k: 5, iters: 2, balance: 1.1 });
    const arrays = model.toArrays();
    const bias = arrays.bias ?? new Float32Array(5);
    const scores = centreScores({ ...arrays, bias: undefined }, features);
    expect([...biasedSizes(scores, features.rows, 5, bias)]).toEqual([
      ...partitionSizes(model.assignAll(features), 5),
    ]);
  });

  it("rejects a bias of the wrong length or a non-finite bias", async () => {
    const { features, labels } = await bundledTrain("bibtex");
    const arrays = fitMincut(features, labels, { k: 3, iters: 1, balance: 1.1 }).toArrays();
    expect(() => partitionModelFromArrays({ ...arrays, bias: new Float32Array(2) })).toThrow(
      /bias must be a Float32Array of one entry per centre \(3\), but has 2/,
    );
    expect(() =>
      partitionModelFromArrays({ ...arrays, bias: Float32Array.of(0, Number.NaN, 0) }),
    ).toThrow(/bias of centre 1 must be finite, but is NaN/);
    expect(() => fitMincut(features, labels, { k: 3, balance: 0.5 })).toThrow(
      /balance must be 0 \(no bound\) or a finite number >= 1.1, but is 0.5/,
    );
  });
});
