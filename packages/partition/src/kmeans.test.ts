import type { CsrMatrix, LabelMatrix } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { fitKmeans } from "./kmeans.js";
import { cloneCsr, Rng, randomCsr } from "./test-util.js";
import type { EpochInfo, PartitionModel } from "./types.js";

const noLabels = (rows: number): LabelMatrix => ({
  rows,
  cols: 1,
  indptr: new Int32Array(rows + 1),
  indices: new Int32Array(0),
});

/** Scalar reference of ALGORITHM.md 2a with dense centres (one Float32Array per partition). */
function referenceKmeans(x: CsrMatrix, k: number, iters: number, seed: number) {
  const rng = new Rng(seed);
  const n = x.rows;
  const f = x.cols;
  const order = new Int32Array(n).map((_, i) => i);
  rng.shuffle(order);
  const centres = Array.from({ length: k }, (_, c) => {
    const centre = new Float32Array(f);
    for (let p = x.indptr[order[c]]; p < x.indptr[order[c] + 1]; p++)
      centre[x.indices[p]] = x.values[p];
    return centre;
  });
  const assignment = new Int32Array(n);
  const objectives: number[] = [];
  let previous = Number.NEGATIVE_INFINITY;
  for (let epoch = 0; epoch < iters; epoch++) {
    let objective = 0;
    for (let r = 0; r < n; r++) {
      const scores = centres.map((centre) => {
        let s = 0;
        for (let p = x.indptr[r]; p < x.indptr[r + 1]; p++) s += centre[x.indices[p]] * x.values[p];
        return s;
      });
      const best = Math.max(...scores);
      const ties = scores.flatMap((s, c) => (s === best ? [c] : []));
      assignment[r] = ties.length > 1 ? ties[rng.nextInt(ties.length)] : ties[0];
      objective += best;
    }
    objective /= n;
    objectives.push(objective);
    for (let c = 0; c < k; c++) {
      const sum = new Float64Array(f);
      for (let r = 0; r < n; r++) {
        if (assignment[r] !== c) continue;
        for (let p = x.indptr[r]; p < x.indptr[r + 1]; p++) sum[x.indices[p]] += x.values[p];
      }
      const norm = Math.sqrt(sum.reduce((a, v) => a + v * v, 0));
      for (let j = 0; j < f; j++) centres[c][j] = norm > 0 ? sum[j] / norm : sum[j];
    }
    if (objective - previous < 2 ** -23) break;
    previous = objective;
  }
  return { centres, objectives };
}

function denseCentres(model: PartitionModel): Float32Array[] {
  const a = model.toArrays();
  const out = Array.from({ length: a.k }, () => new Float32Array(a.numFeatures));
  for (let j = 0; j < a.numFeatures; j++) {
    for (let p = a.featurePtr[j]; p < a.featurePtr[j + 1]; p++)
      out[a.partitions[p]][j] = a.weights[p];
  }
  return out;
}

describe("spherical k-means", () => {
  it("matches the scalar reference (centres, objectives, early stop)", () => {
    for (const [seed, k, iters] of [
      [1, 4, 10],
      [2, 7, 3],
      [3, 2, 30],
    ]) {
      const x = randomCsr(new Rng(100 + seed), 300, 30, 6, { positive: seed === 3 });
      const epochs: EpochInfo[] = [];
      const started = performance.now();
      const model = fitKmeans(x, noLabels(x.rows), {
        k,
        iters,
        seed,
        onEpoch: (e) => epochs.push(e),
      });
      const elapsed = (performance.now() - started) / 1000;
      const ref = referenceKmeans(x, k, iters, seed);
      expect(epochs.map((e) => e.epoch)).toEqual(ref.objectives.map((_, i) => i + 1));
      for (let i = 0; i < ref.objectives.length; i++) {
        expect(epochs[i].objective).toBeCloseTo(ref.objectives[i], 10);
      }
      // Each epoch's time is in seconds, measured inside the fit: positive,
      // and together no more than the whole call (milliseconds would exceed it).
      const seconds = epochs.map((e) => e.seconds);
      for (const t of seconds) expect(t).toBeGreaterThan(0);
      expect(seconds.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(elapsed);
      const got = denseCentres(model);
      for (let c = 0; c < k; c++) {
        for (let j = 0; j < x.cols; j++) expect(got[c][j]).toBeCloseTo(ref.centres[c][j], 6);
      }
    }
  });

  it("stops early once the objective no longer improves, and the objective never decreases", () => {
    const x = randomCsr(new Rng(9), 400, 20, 4, { positive: true });
    const objectives: number[] = [];
    fitKmeans(x, noLabels(x.rows), {
      k: 3,
      iters: 200,
      onEpoch: (e) => objectives.push(e.objective),
    });
    expect(objectives.length).toBeLessThan(200);
    for (let i = 1; i < objectives.length; i++) {
      expect(objectives[i]).toBeGreaterThanOrEqual(objectives[i - 1] - 1e-12);
    }
  });

  it("with iters = 0 the centres are the first K shuffled rows", () => {
    const x = randomCsr(new Rng(4), 50, 15, 5);
    const model = fitKmeans(x, noLabels(50), { k: 5, iters: 0, seed: 77 });
    const ref = referenceKmeans(x, 5, 0, 77);
    expect(denseCentres(model)).toEqual(ref.centres);
  });

  it("is deterministic by seed and leaves its inputs alone", () => {
    const x = randomCsr(new Rng(8), 200, 25, 6);
    const copy = cloneCsr(x);
    const a = fitKmeans(x, noLabels(200), { k: 5, seed: 42 }).toArrays();
    const b = fitKmeans(x, noLabels(200), { k: 5, seed: 42 }).toArrays();
    const c = fitKmeans(x, noLabels(200), { k: 5, seed: 43 }).toArrays();
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(x).toEqual(copy);
  });

  it("the final model sends rows without any overlap to partition 0", () => {
    // Two clusters of rows on features 0/1 plus 60 empty rows that tie everywhere.
    const rows = 80;
    const indptr = new Int32Array(rows + 1);
    const indices: number[] = [];
    for (let r = 0; r < rows; r++) {
      if (r < 20) indices.push(r % 2);
      indptr[r + 1] = indices.length;
    }
    const x = {
      rows,
      cols: 2,
      indptr,
      indices: Int32Array.from(indices),
      values: new Float32Array(indices.length).fill(1),
    };
    // The empty rows are assigned at random in training (see ties.test.ts),
    // but the final model sends them to partition 0 (lowest-k rule).
    const model = fitKmeans(x, noLabels(rows), { k: 2, iters: 1, seed: 3 });
    const assignment = model.assignAll(x);
    for (let r = 20; r < rows; r++) expect(assignment[r]).toBe(0);
    expect(assignment[0]).not.toBe(assignment[1]);
  });
});
