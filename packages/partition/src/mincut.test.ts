import { labelKnnGraph } from "@annexml/knng";
import { type CsrMatrix, type LabelMatrix, selectRows } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { sigmoid } from "./ftrl-state.js";
import { fitMincut } from "./mincut.js";
import { bundledTrain, cloneCsr, Rng } from "./test-util.js";
import type { EpochInfo } from "./types.js";

interface RefOptions {
  k: number;
  iters: number;
  seed: number;
  eta0: number;
  lambda: number;
  nn: number;
  pruneBudget: number;
}

/**
 * Scalar reference of ALGORITHM.md 2b: dense per-partition Float32Arrays for
 * W, G and z, one feature at a time, exactly the order of the spec.
 */
function referenceMincut(x: CsrMatrix, labels: LabelMatrix, o: RefOptions) {
  const rng = new Rng(o.seed);
  const n = x.rows;
  const f = x.cols;
  const order = new Int32Array(n).map((_, i) => i);
  rng.shuffle(order);
  const W = Array.from({ length: o.k }, () => new Float32Array(f));
  const G = Array.from({ length: o.k }, () => new Float32Array(f).fill(1));
  const Z = Array.from({ length: o.k }, () => new Float32Array(f));
  for (let c = 0; c < o.k; c++) {
    for (let p = x.indptr[order[c]]; p < x.indptr[order[c] + 1]; p++) {
      const j = x.indices[p];
      W[c][j] = x.values[p];
      const z0 = (W[c][j] * Math.sqrt(G[c][j])) / o.eta0;
      Z[c][j] = z0 + o.lambda * Math.sign(z0);
    }
  }
  const graph = labelKnnGraph(labels, {
    k: o.nn,
    labelNormalize: true,
    pruneBudget: o.pruneBudget,
  });
  const dot = (c: number, r: number) => {
    let s = 0;
    for (let p = x.indptr[r]; p < x.indptr[r + 1]; p++) s += W[c][x.indices[p]] * x.values[p];
    return s;
  };
  const step = (c: number, r: number, a: number) => {
    for (let p = x.indptr[r]; p < x.indptr[r + 1]; p++) {
      const j = x.indices[p];
      const g = a * x.values[p];
      const nOld = Math.sqrt(G[c][j]);
      G[c][j] += g * g;
      const nNew = Math.sqrt(G[c][j]);
      Z[c][j] += g + ((nNew - nOld) / o.eta0) * W[c][j];
      const z = Z[c][j];
      W[c][j] = Math.abs(z) <= o.lambda ? 0 : (o.eta0 * (z - o.lambda * Math.sign(z))) / nNew;
    }
  };
  const last = new Int32Array(n).fill(-1);
  const objectives: number[] = [];
  for (let epoch = 0; epoch < o.iters; epoch++) {
    rng.shuffle(order);
    let pairs = 0;
    let correct = 0;
    for (const i of order) {
      if (graph.ids[i * graph.k] < 0) continue;
      const negatives = Array.from({ length: o.nn }, () => rng.nextInt(n));
      const scores = W.map((_, c) => dot(c, i));
      const best = Math.max(...scores);
      const ties = scores.flatMap((s, c) => (s === best ? [c] : []));
      const b = ties.length > 1 ? ties[rng.nextInt(ties.length)] : ties[0];
      last[i] = b;
      for (let q = 0; q < graph.k; q++) {
        const j = graph.ids[i * graph.k + q];
        if (j < 0) continue;
        step(b, j, 1 - sigmoid(dot(b, j)));
        if (last[j] === b) correct++;
        pairs++;
      }
      for (const j of negatives) step(b, j, -sigmoid(dot(b, j)));
    }
    objectives.push(correct / pairs);
  }
  return { W, objectives };
}

async function bibtexSample(rows: number) {
  const d = await bundledTrain("bibtex");
  const pick = new Int32Array(rows).map((_, i) => i * 7);
  return { x: selectRows(d.features, pick), labels: selectRows(d.labels, pick) };
}

describe("min-cut partitioner", () => {
  it("matches the scalar reference bit for bit on real data (dense and sparse state)", async () => {
    const { x, labels } = await bibtexSample(500);
    const o = { k: 4, iters: 3, seed: 9, eta0: 0.1, lambda: 0.5, nn: 10, pruneBudget: 50 };
    const ref = referenceMincut(x, labels, o);
    for (const memoryBudgetBytes of [Number.POSITIVE_INFINITY, 0]) {
      const epochs: EpochInfo[] = [];
      const model = fitMincut(x, labels, {
        k: o.k,
        iters: o.iters,
        seed: o.seed,
        eta0: o.eta0,
        lambda: o.lambda,
        numNeighbours: o.nn,
        pruneBudget: o.pruneBudget,
        memoryBudgetBytes,
        onEpoch: (e) => epochs.push(e),
      });
      expect(epochs.map((e) => e.objective)).toEqual(ref.objectives);
      const a = model.toArrays();
      const dense = Array.from({ length: o.k }, () => new Float32Array(x.cols));
      for (let j = 0; j < a.numFeatures; j++) {
        for (let p = a.featurePtr[j]; p < a.featurePtr[j + 1]; p++)
          dense[a.partitions[p]][j] = a.weights[p];
      }
      expect(dense).toEqual(ref.W);
    }
    // The small lambda lets weights beyond the seed rows appear.
    const seeded = ref.W.reduce((s, w) => s + w.filter((v) => v !== 0).length, 0);
    expect(seeded).toBeGreaterThan(100);
    expect(ref.objectives[2]).toBeGreaterThan(ref.objectives[0]);
  });

  it("dense and exact sparse state give identical models with the default options", async () => {
    const { x, labels } = await bibtexSample(600);
    const dense = fitMincut(x, labels, { k: 5, iters: 3 }).toArrays();
    const sparse = fitMincut(x, labels, { k: 5, iters: 3, memoryBudgetBytes: 1000 }).toArrays();
    expect(sparse).toEqual(dense);
    expect(dense.weights.length).toBeGreaterThan(0);
  });

  it("is deterministic by seed, reports every epoch and leaves its inputs alone", async () => {
    const { x, labels } = await bibtexSample(400);
    const copy = cloneCsr(x);
    const epochs: EpochInfo[] = [];
    const a = fitMincut(x, labels, { k: 3, iters: 4, seed: 1, onEpoch: (e) => epochs.push(e) });
    const b = fitMincut(x, labels, { k: 3, iters: 4, seed: 1 });
    const c = fitMincut(x, labels, { k: 3, iters: 4, seed: 2 });
    expect(b.toArrays()).toEqual(a.toArrays());
    expect(c.toArrays()).not.toEqual(a.toArrays());
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    // The objective is correct / pairs over the positives graph's edges (every
    // row with positives is visited once per epoch): a whole number of pairs.
    const graph = labelKnnGraph(labels, {
      k: 10,
      labelNormalize: true,
      pruneBudget: 5000,
      amplify: true,
    });
    let pairs = 0;
    for (let i = 0; i < x.rows; i++) {
      if (graph.ids[i * graph.k] < 0) continue;
      for (let q = 0; q < graph.k; q++) if (graph.ids[i * graph.k + q] >= 0) pairs++;
    }
    expect(pairs).toBeGreaterThan(x.rows);
    for (const { objective } of epochs) {
      const correct = objective * pairs;
      expect(Math.abs(correct - Math.round(correct))).toBeLessThan(1e-6);
    }
    // Training pulls neighbours together: the objective rises every epoch and
    // ends far above the 1/k = 0.33 of a random assignment (measured with seeds
    // 1-8: first epoch 0.24-0.32, last 0.67-0.84; seed 1 ends at 0.725).
    const objectives = epochs.map((e) => e.objective);
    for (let e = 1; e < objectives.length; e++) {
      expect(objectives[e]).toBeGreaterThan(objectives[e - 1]);
    }
    expect(objectives[3]).toBeGreaterThan(0.6);
    expect(x).toEqual(copy);
  });

  it("with iters = 0 the weights are the first K shuffled rows", async () => {
    const { x, labels } = await bibtexSample(100);
    const model = fitMincut(x, labels, { k: 4, iters: 0, seed: 5 });
    const ref = referenceMincut(x, labels, {
      k: 4,
      iters: 0,
      seed: 5,
      eta0: 0.1,
      lambda: 4,
      nn: 10,
      pruneBudget: 0,
    });
    const a = model.toArrays();
    let nnz = 0;
    for (const w of ref.W) nnz += w.filter((v) => v !== 0).length;
    expect(a.weights.length).toBe(nnz);
    // Each seed row is assigned to its own partition (its inner product with itself is 1).
    const seeds = new Rng(5);
    const order = new Int32Array(100).map((_, i) => i);
    seeds.shuffle(order);
    for (let c = 0; c < 4; c++) {
      const r = order[c];
      const from = x.indptr[r];
      const to = x.indptr[r + 1];
      expect(model.assign(x.indices.subarray(from, to), x.values.subarray(from, to))).toBe(c);
    }
  });
});
