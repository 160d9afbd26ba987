import { describe, expect, it } from "vitest";
import {
  DenseFtrlState,
  type FtrlState,
  ftrlInitialZ,
  SparseFtrlState,
  sigmoid,
} from "./ftrl-state.js";
import { createFtrlState } from "./mincut.js";
import { Rng, randomCsr } from "./test-util.js";

/**
 * Scalar reference of the spec's FTRL-proximal step, one (k, f) cell at a
 * time, state in a Map, float32 storage emulated with Math.fround.
 */
class ReferenceFtrl {
  private cells = new Map<number, { w: number; g: number; z: number }>();
  constructor(
    readonly k: number,
    readonly eta0: number,
    readonly lambda: number,
  ) {}
  private cell(c: number, f: number) {
    const key = f * this.k + c;
    let cell = this.cells.get(key);
    if (!cell) this.cells.set(key, (cell = { w: 0, g: 1, z: 0 }));
    return cell;
  }
  seed(c: number, f: number, v: number) {
    const cell = this.cell(c, f);
    cell.w = Math.fround(v);
    const z0 = (cell.w * Math.sqrt(cell.g)) / this.eta0;
    cell.z = Math.fround(z0 + this.lambda * Math.sign(z0));
  }
  weight(c: number, f: number) {
    return this.cells.get(f * this.k + c)?.w ?? 0;
  }
  step(c: number, f: number, grad: number) {
    const cell = this.cell(c, f);
    const nOld = Math.sqrt(cell.g);
    cell.g = Math.fround(cell.g + grad * grad);
    const nNew = Math.sqrt(cell.g);
    cell.z = Math.fround(cell.z + (grad + ((nNew - nOld) / this.eta0) * cell.w));
    const z = cell.z;
    cell.w =
      Math.abs(z) <= this.lambda
        ? 0
        : Math.fround((this.eta0 * (z - this.lambda * Math.sign(z))) / nNew);
  }
}

describe("FTRL state", () => {
  it("dense and sparse layouts match the scalar reference bit for bit", () => {
    const rng = new Rng(5);
    const k = 5;
    const f = 40;
    const eta0 = 0.1;
    const lambda = 0.3; // small, so that weights actually leave the L1 dead zone
    const x = randomCsr(rng, 60, f, 8);
    const states: FtrlState[] = [
      new DenseFtrlState(k, f, eta0, lambda),
      new SparseFtrlState(k, f, eta0, lambda, 4), // tiny capacity: exercises growth and rehashing
    ];
    const ref = new ReferenceFtrl(k, eta0, lambda);
    const { indptr, indices, values } = x;
    for (let c = 0; c < k; c++) {
      for (const s of states) s.seed(c, indices, values, indptr[c], indptr[c + 1]);
      for (let p = indptr[c]; p < indptr[c + 1]; p++) ref.seed(c, indices[p], values[p]);
    }
    let nonZeroSeen = 0;
    for (let step = 0; step < 3000; step++) {
      const c = rng.nextInt(k);
      const r = rng.nextInt(x.rows);
      const from = indptr[r];
      const to = indptr[r + 1];
      let refDot = 0;
      for (let p = from; p < to; p++) refDot += ref.weight(c, indices[p]) * values[p];
      const coef = rng.nextFloat() < 0.5 ? 1 - sigmoid(refDot) : -sigmoid(refDot);
      for (const s of states) {
        expect(s.dot(c, indices, values, from, to)).toBe(refDot);
        s.update(c, indices, values, from, to, coef);
      }
      for (let p = from; p < to; p++) ref.step(c, indices[p], coef * values[p]);
      // scoreAll = every partition's dot product.
      const q = rng.nextInt(x.rows);
      const expected = new Float64Array(k);
      for (let cc = 0; cc < k; cc++) {
        for (let p = indptr[q]; p < indptr[q + 1]; p++)
          expected[cc] += ref.weight(cc, indices[p]) * values[p];
      }
      for (const s of states) {
        const scores = new Float64Array(k);
        s.scoreAll(indices, values, indptr[q], indptr[q + 1], scores);
        expect(scores).toEqual(expected);
      }
      if (ref.weight(c, indices[from]) !== 0) nonZeroSeen++;
    }
    expect(nonZeroSeen).toBeGreaterThan(100);
    const dense = states[0].toArrays();
    const sparse = states[1].toArrays();
    expect(sparse).toEqual(dense);
    for (let j = 0; j < f; j++) {
      for (let p = dense.featurePtr[j]; p < dense.featurePtr[j + 1]; p++) {
        expect(dense.weights[p]).toBe(ref.weight(dense.partitions[p], j));
        expect(dense.weights[p]).not.toBe(0);
      }
    }
    expect((states[1] as SparseFtrlState).size).toBeGreaterThan(4);
  });

  it("seeding reproduces the seed row through the FTRL closed form", () => {
    for (const w of [0.37, -0.2, 1e-3, 0]) {
      const z = ftrlInitialZ(w, 0.1, 4);
      const back = Math.abs(z) <= 4 ? 0 : 0.1 * (z - 4 * Math.sign(z));
      expect(back).toBeCloseTo(w, 12);
    }
    const s = new DenseFtrlState(2, 3, 0.1, 4);
    s.seed(1, Int32Array.from([0, 2]), Float32Array.from([0.6, 0.8]), 0, 2);
    expect(s.toArrays()).toEqual({
      k: 2,
      numFeatures: 3,
      featurePtr: Int32Array.from([0, 1, 1, 2]),
      partitions: Int32Array.from([1, 1]),
      weights: Float32Array.from([0.6, 0.8]),
    });
  });

  it("chooses dense within the memory budget and sparse beyond it", () => {
    expect(DenseFtrlState.bytesFor(166, 1_000_000)).toBe(12 * 168 * 1_000_000);
    const o = { eta0: 0.1, lambda: 4 };
    expect(createFtrlState(3, 10, { ...o, memoryBudgetBytes: 480 })).toBeInstanceOf(DenseFtrlState);
    expect(createFtrlState(3, 10, { ...o, memoryBudgetBytes: 479 })).toBeInstanceOf(
      SparseFtrlState,
    );
  });

  it("sigmoid is stable at both ends", () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(2) + sigmoid(-2)).toBeCloseTo(1, 15);
  });
});
