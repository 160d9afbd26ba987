import { describe, expect, it } from "vitest";
import {
  accumulateInvertedScores,
  argmaxLowest,
  partitionModelFromArrays,
  singlePartitionModel,
} from "./model.js";
import { Rng, randomCsr } from "./test-util.js";
import type { PartitionArrays } from "./types.js";

/** Random inverted index with k partitions over f features (about `density` of the pairs non-zero). */
function randomArrays(rng: Rng, k: number, f: number, density: number): PartitionArrays {
  const featurePtr = new Int32Array(f + 1);
  const parts: number[] = [];
  const weights: number[] = [];
  for (let j = 0; j < f; j++) {
    for (let c = 0; c < k; c++) {
      if (rng.nextFloat() < density) {
        parts.push(c);
        weights.push(rng.nextFloat() * 2 - 1 || 0.25);
      }
    }
    featurePtr[j + 1] = parts.length;
  }
  return {
    k,
    numFeatures: f,
    featurePtr,
    partitions: Int32Array.from(parts),
    weights: Float32Array.from(weights),
  };
}

/** Scalar reference: dense K x F weights, every score summed naively, lowest k wins ties. */
function referenceAssign(a: PartitionArrays, indices: Int32Array, values: Float32Array): number {
  const dense = new Float64Array(a.k * a.numFeatures);
  for (let f = 0; f < a.numFeatures; f++) {
    for (let p = a.featurePtr[f]; p < a.featurePtr[f + 1]; p++) {
      dense[a.partitions[p] * a.numFeatures + f] = a.weights[p];
    }
  }
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < a.k; c++) {
    let s = 0;
    for (let p = 0; p < indices.length; p++) {
      if (indices[p] < a.numFeatures) s += dense[c * a.numFeatures + indices[p]] * values[p];
    }
    if (s > bestScore) {
      bestScore = s;
      best = c;
    }
  }
  return best;
}

describe("inverted-index model", () => {
  it("assigns like the scalar reference (random models and rows, features beyond numFeatures ignored)", () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 20; trial++) {
      const k = 1 + rng.nextInt(12);
      const f = 5 + rng.nextInt(60);
      const arrays = randomArrays(rng, k, f, rng.nextFloat());
      const model = partitionModelFromArrays(arrays);
      // Rows may use feature ids up to f + 10: the extra ones must be ignored.
      const rows = randomCsr(rng, 50, f + 10, 12, { allowEmpty: true });
      const all = model.assignAll(rows);
      for (let r = 0; r < rows.rows; r++) {
        const from = rows.indptr[r];
        const to = rows.indptr[r + 1];
        const indices = rows.indices.slice(from, to);
        const values = rows.values.slice(from, to);
        const expected = referenceAssign(arrays, indices, values);
        expect(model.assign(indices, values)).toBe(expected);
        expect(all[r]).toBe(expected);
      }
    }
  });

  it("sends ties to the lowest partition, and a row without overlap to 0", () => {
    // Features 0 and 1: partitions 1 and 2 score equally on feature 0; partition 0 has no weight.
    const model = partitionModelFromArrays({
      k: 3,
      numFeatures: 3,
      featurePtr: Int32Array.from([0, 2, 3, 3]),
      partitions: Int32Array.from([1, 2, 0]),
      weights: Float32Array.from([0.5, 0.5, -1]),
    });
    expect(model.assign(Int32Array.from([0]), Float32Array.from([1]))).toBe(1);
    expect(model.assign(Int32Array.from([2]), Float32Array.from([1]))).toBe(0);
    expect(model.assign(new Int32Array(0), new Float32Array(0))).toBe(0);
    expect(model.assign(Int32Array.from([7]), Float32Array.from([1]))).toBe(0);
    // Negative only: partitions 1 and 2 score 0, partition 0 scores -1: lowest of the best is 1.
    expect(model.assign(Int32Array.from([1]), Float32Array.from([1]))).toBe(1);
  });

  it("round-trips through toArrays", () => {
    const rng = new Rng(3);
    const arrays = randomArrays(rng, 7, 40, 0.3);
    const model = partitionModelFromArrays(arrays);
    const again = partitionModelFromArrays(model.toArrays());
    const rows = randomCsr(rng, 200, 40, 10);
    expect(again.k).toBe(7);
    expect(again.numFeatures).toBe(40);
    expect(again.assignAll(rows)).toEqual(model.assignAll(rows));
  });

  it("K = 1 puts every row in partition 0", () => {
    const model = singlePartitionModel(10);
    const rows = randomCsr(new Rng(1), 30, 10, 5);
    expect(model.k).toBe(1);
    expect([...model.assignAll(rows)].every((c) => c === 0)).toBe(true);
    expect(model.toArrays().featurePtr).toEqual(new Int32Array(11));
  });

  it("validates arrays with clear errors", () => {
    const good = (): PartitionArrays => ({
      k: 2,
      numFeatures: 2,
      featurePtr: Int32Array.from([0, 1, 2]),
      partitions: Int32Array.from([0, 1]),
      weights: Float32Array.from([0.5, 0.25]),
    });
    expect(() => partitionModelFromArrays(good())).not.toThrow();
    const bad = (patch: Partial<Record<keyof PartitionArrays, unknown>>) => () =>
      partitionModelFromArrays({ ...good(), ...patch } as PartitionArrays);
    expect(bad({ k: 0 })).toThrow("k must be a positive integer, but is 0");
    expect(bad({ numFeatures: -1 })).toThrow(
      "numFeatures must be a non-negative integer, but is -1",
    );
    expect(bad({ featurePtr: [0, 1, 2] })).toThrow(
      expect.objectContaining({ code: "BAD_INPUT", message: "featurePtr must be an Int32Array" }),
    );
    expect(bad({ featurePtr: Int32Array.from([0, 2]) })).toThrow(
      "featurePtr must have numFeatures + 1 = 3 entries, but has 2",
    );
    expect(bad({ weights: Float32Array.from([1]) })).toThrow("weights must have as many entries");
    expect(bad({ featurePtr: Int32Array.from([0, 1, 1]) })).toThrow("end at the entry count 2");
    expect(bad({ featurePtr: Int32Array.from([0, 3, 2]) })).toThrow(
      "featurePtr decreases at feature 1",
    );
    expect(bad({ partitions: Int32Array.from([0, 2]) })).toThrow(
      "sorted unique partitions in [0, 2)",
    );
    expect(
      bad({ featurePtr: Int32Array.from([0, 2, 2]), partitions: Int32Array.from([1, 1]) }),
    ).toThrow("but has 1 after 1");
    expect(bad({ weights: Float32Array.from([0.5, Number.NaN]) })).toThrow(
      "finite and non-zero, but is NaN",
    );
    expect(bad({ weights: Float32Array.from([0, 1]) })).toThrow("finite and non-zero, but is 0");
  });

  it("kernels: accumulateInvertedScores adds into the caller's accumulator; argmaxLowest picks the lowest of equals", () => {
    const scores = Float64Array.from([1, 0, 0]);
    accumulateInvertedScores(
      Int32Array.from([0, 2]),
      Int32Array.from([1, 2]),
      Float32Array.from([0.5, 0.25]),
      1,
      Int32Array.from([0, 5]),
      Float32Array.from([2, 9]),
      0,
      2,
      scores,
    );
    expect([...scores]).toEqual([1, 1, 0.5]);
    expect(argmaxLowest(scores, 3)).toBe(0);
    expect(argmaxLowest(Float64Array.from([-2, -1, -1]), 3)).toBe(1);
  });
});
