import { Rng } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { innerProduct, kernelWidth, squaredDistance } from "./kernel.js";

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.nextFloat() * 2 - 1;
  return a;
}

/** Scalar references: one term at a time, in order. */
function refDistance(
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  len: number,
): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += (a[ao + i] - b[bo + i]) ** 2;
  return s;
}
function refDot(a: Float32Array, ao: number, b: Float32Array, bo: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += a[ao + i] * b[bo + i];
  return s;
}

describe("distance kernels", () => {
  it("match the scalar references for every length 0..70 and arbitrary offsets", () => {
    const rng = new Rng(1);
    const a = randomArray(rng, 200);
    const b = randomArray(rng, 200);
    for (let len = 0; len <= 70; len++) {
      for (const [ao, bo] of [
        [0, 0],
        [3, 17],
        [50, 101],
      ]) {
        expect(squaredDistance(a, ao, b, bo, len)).toBeCloseTo(refDistance(a, ao, b, bo, len), 10);
        expect(innerProduct(a, ao, b, bo, len)).toBeCloseTo(refDot(a, ao, b, bo, len), 10);
      }
    }
  });

  it("give 0 for identical rows and are symmetric", () => {
    const rng = new Rng(2);
    const a = randomArray(rng, 52);
    const b = randomArray(rng, 52);
    expect(squaredDistance(a, 0, a, 0, 52)).toBe(0);
    expect(squaredDistance(a, 0, b, 0, 52)).toBe(squaredDistance(b, 0, a, 0, 52));
  });
});

describe("kernelWidth", () => {
  it("rounds the dimension up to a multiple of 4 when the padding is zero", () => {
    const data = new Float32Array(3 * 56);
    expect(kernelWidth(data, 3, 50, 56)).toBe(52);
    expect(kernelWidth(data, 3, 52, 56)).toBe(52);
    expect(kernelWidth(data, 3, 50, 51)).toBe(50);
    expect(kernelWidth(data, 3, 50, 50)).toBe(50);
  });

  it("falls back to the dimension when a row has non-zero padding", () => {
    const data = new Float32Array(3 * 56);
    data[2 * 56 + 51] = 1;
    expect(kernelWidth(data, 3, 50, 56)).toBe(50);
  });
});
