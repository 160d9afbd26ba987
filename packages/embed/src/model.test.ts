import { Rng } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import {
  type EmbeddingArrays,
  embeddingModelFromArrays,
  normalizeSlice,
  projectRow,
} from "./model.js";

/** A random valid model: `features` ids out of [0, 3 * features), unit embeddings. */
function arrays(seed = 1, features = 40, embSize = 6, rows = 5): EmbeddingArrays {
  const rng = new Rng(seed);
  const stride = (embSize + 3) & ~3;
  const ids = new Set<number>();
  while (ids.size < features) ids.add(rng.nextInt(3 * features));
  const featureIds = Int32Array.from([...ids].sort((a, b) => a - b));
  const weights = new Float32Array(features * stride);
  for (let f = 0; f < features; f++) {
    for (let d = 0; d < embSize; d++) weights[f * stride + d] = rng.nextFloat() - 0.5;
  }
  const embeddings = new Float32Array(rows * stride);
  for (let i = 0; i < rows - 1; i++) {
    for (let d = 0; d < embSize; d++) embeddings[i * stride + d] = rng.nextFloat() - 0.5;
    normalizeSlice(embeddings, i * stride, stride);
  }
  return { embSize, stride, rows, featureIds, weights, embeddings };
}

/** Scalar reference of x W: a hash lookup per query feature. */
function refEmbed(
  a: EmbeddingArrays,
  indices: ArrayLike<number>,
  values: ArrayLike<number>,
  normalize: boolean,
) {
  const row = new Map(Array.from(a.featureIds, (f, j) => [f, j]));
  const z = new Array(a.stride).fill(0);
  for (let p = 0; p < indices.length; p++) {
    const j = row.get(indices[p]);
    if (j === undefined) continue;
    for (let d = 0; d < a.stride; d++) z[d] += values[p] * a.weights[j * a.stride + d];
  }
  const norm = Math.hypot(...z);
  return normalize && norm > 0 ? z.map((v) => v / norm) : z;
}

describe("embed / embedInto", () => {
  it("match the scalar reference for sorted, unsorted, unknown and duplicate-free queries", () => {
    const a = arrays();
    const model = embeddingModelFromArrays(a);
    const rng = new Rng(2);
    const out = new Float32Array(3 * a.stride);
    for (let trial = 0; trial < 300; trial++) {
      const set = new Set<number>();
      const want = rng.nextInt(25);
      while (set.size < want) set.add(rng.nextInt(130));
      const sorted = [...set].sort((x, y) => x - y);
      const order = trial % 3 === 0 ? rng.shuffle([...sorted]) : sorted;
      const indices = Int32Array.from(order);
      const values = Float32Array.from(order, () => rng.nextFloat() + 0.1);
      for (const normalize of [true, false]) {
        const expected = refEmbed(a, indices, values, normalize);
        const z = model.embed(indices, values, { normalize });
        expect(z.length).toBe(a.stride);
        model.embedInto(out, a.stride, indices, values, normalize);
        for (let d = 0; d < a.stride; d++) {
          expect(z[d]).toBeCloseTo(expected[d], 5);
          expect(out[a.stride + d]).toBe(z[d]);
        }
        // Neighbouring slots untouched.
        expect(out[0]).toBe(0);
        expect(out[2 * a.stride]).toBe(0);
      }
    }
  });

  it("find the first and the last feature id, and ignore ids beyond the last", () => {
    const a = arrays(3, 10);
    const model = embeddingModelFromArrays(a);
    const first = a.featureIds[0];
    const last = a.featureIds[a.featureIds.length - 1];
    const z = model.embed(
      Int32Array.of(first, last, last + 1, last + 1000),
      Float32Array.of(1, 2, 5, 5),
      {
        normalize: false,
      },
    );
    for (let d = 0; d < a.stride; d++) {
      expect(z[d]).toBeCloseTo(
        a.weights[d] + 2 * a.weights[(a.featureIds.length - 1) * a.stride + d],
        6,
      );
    }
  });

  it("give zeros, never NaN, for empty or unknown-only rows and for an empty model", () => {
    const model = embeddingModelFromArrays(arrays());
    const unknown = model.embed(Int32Array.of(-5, 1_000_000), Float32Array.of(1, 1));
    expect(Array.from(unknown)).toEqual(new Array(model.stride).fill(0));
    expect(Array.from(model.embed(new Int32Array(0), new Float32Array(0)))).toEqual(
      new Array(model.stride).fill(0),
    );
    const empty = embeddingModelFromArrays({
      ...arrays(),
      featureIds: new Int32Array(0),
      weights: new Float32Array(0),
    });
    expect(Array.from(empty.embed(Int32Array.of(0, 3), Float32Array.of(1, 1)))).toEqual(
      new Array(model.stride).fill(0),
    );
  });

  it("embedRows equals embed row by row", () => {
    const a = arrays(4);
    const model = embeddingModelFromArrays(a);
    const m = {
      rows: 3,
      cols: 200,
      indptr: Int32Array.of(0, 2, 2, 5),
      indices: Int32Array.of(
        a.featureIds[1],
        150,
        a.featureIds[0],
        a.featureIds[4],
        a.featureIds[9],
      ),
      values: Float32Array.of(0.5, 0.5, 0.2, 0.3, 0.4),
    };
    const dense = model.embedRows(m, [2, 0, 1]);
    expect(dense).toMatchObject({ rows: 3, cols: a.embSize, stride: a.stride });
    const expectRow = (i: number, r: number) => {
      const z = model.embed(
        m.indices.subarray(m.indptr[r], m.indptr[r + 1]),
        m.values.subarray(m.indptr[r], m.indptr[r + 1]),
      );
      expect(Array.from(dense.data.subarray(i * a.stride, (i + 1) * a.stride))).toEqual(
        Array.from(z),
      );
    };
    expectRow(0, 2);
    expectRow(1, 0);
    expectRow(2, 1);
    expect(() => model.embedRows(m, [3])).toThrow(
      expect.objectContaining({ code: "BAD_OPTION", message: "row 3 is out of range [0, 3)" }),
    );
  });

  it("embedInto rejects an offset without room", () => {
    const model = embeddingModelFromArrays(arrays());
    const out = new Float32Array(2 * model.stride);
    expect(() =>
      model.embedInto(out, model.stride + 1, Int32Array.of(1), Float32Array.of(1)),
    ).toThrow(/offset must leave room for 8 floats in out \(length 16\), but is 9/);
  });
});

describe("toArrays / embeddingModelFromArrays", () => {
  it("round-trip without copying", () => {
    const a = arrays();
    const model = embeddingModelFromArrays(a);
    const b = model.toArrays();
    expect(b.featureIds).toBe(a.featureIds);
    expect(b.weights).toBe(a.weights);
    expect(b.embeddings).toBe(a.embeddings);
    expect(model.embeddings).toMatchObject({ rows: 5, cols: 6, stride: 8 });
    expect(model.diagnostic).toBeUndefined();
    const withPrecision = embeddingModelFromArrays({
      ...a,
      precision: Float64Array.of(0.5, 0.4, 0.3, 0.2, 0.1),
    });
    expect(Array.from(withPrecision.toArrays().precision!)).toEqual([0.5, 0.4, 0.3, 0.2, 0.1]);
  });

  it("reject arrays that break an invariant, naming it", () => {
    const a = arrays();
    const bad = (patch: Partial<EmbeddingArrays>) => () =>
      embeddingModelFromArrays({ ...a, ...patch });
    expect(bad({ embSize: 0 })).toThrow(
      expect.objectContaining({
        code: "BAD_INPUT",
        message: "embSize must be a positive integer, but is 0",
      }),
    );
    expect(bad({ stride: 7 })).toThrow(/stride must be a multiple of 4/);
    expect(bad({ featureIds: Int32Array.from(a.featureIds).reverse() })).toThrow(
      /strictly increasing/,
    );
    expect(bad({ weights: new Float32Array(3) })).toThrow(
      /weights must have featureIds.length x stride/,
    );
    expect(bad({ embeddings: new Float32Array(3) })).toThrow(/embeddings must have rows x stride/);
    const nan = Float32Array.from(a.weights);
    nan[3] = Number.NaN;
    expect(bad({ weights: nan })).toThrow(
      expect.objectContaining({ code: "BAD_INPUT", message: "weights row 0 holds NaN" }),
    );
    const padded = Float32Array.from(a.weights);
    padded[7] = 1;
    expect(bad({ weights: padded })).toThrow(/weights row 0 has non-zero padding 1 at column 7/);
    const long = Float32Array.from(a.embeddings);
    long[0] += 1;
    expect(bad({ embeddings: long })).toThrow(/embeddings row 0 must be unit length or zero/);
    // @ts-expect-error wrong array type
    expect(bad({ weights: new Float64Array(a.weights.length) })).toThrow(
      /weights must be a Float32Array/,
    );
  });
});

describe("projectRow", () => {
  it("accumulates a CSR slice exactly like the per-feature loop", () => {
    const a = arrays(5, 30, 8);
    const indices = Int32Array.of(999, a.featureIds[2], a.featureIds[3], a.featureIds[29], 999);
    const values = Float32Array.of(9, 0.25, 0.5, 0.75, 9);
    const out = new Float32Array(a.stride + 2).fill(7);
    projectRow(out, 1, a.stride, a.featureIds, a.weights, indices, values, 1, 4);
    expect(out[0]).toBe(7);
    expect(out[a.stride + 1]).toBe(7);
    for (let d = 0; d < a.stride; d++) {
      const expected =
        0.25 * a.weights[2 * a.stride + d] +
        0.5 * a.weights[3 * a.stride + d] +
        0.75 * a.weights[29 * a.stride + d];
      expect(out[1 + d]).toBeCloseTo(expected, 6);
    }
  });

  // Strides 4, 8, 12, 20, 52: the eight-column groups, the four-column tail, both.
  it.each([4, 8, 10, 20, 50])(
    "is bit for bit the scalar reference (float32 sums in row order), sorted or not, known or not (embSize %i)",
    (embSize) => {
      const rng = new Rng(7 + embSize);
      const a = arrays(6, 300, embSize);
      const reference = (indices: Int32Array, values: Float32Array): Float32Array => {
        const out = new Float32Array(a.stride);
        for (let p = 0; p < indices.length; p++) {
          const f = a.featureIds.indexOf(indices[p]);
          if (f < 0) continue;
          for (let d = 0; d < a.stride; d++) out[d] += values[p] * a.weights[f * a.stride + d];
        }
        return out;
      };
      for (let trial = 0; trial < 100; trial++) {
        const n = Math.floor(rng.nextFloat() * 120);
        // Unique ids (a CSR row has no repeats), some unknown to the model.
        const ids = new Set<number>();
        while (ids.size < n)
          ids.add(
            rng.nextFloat() < 0.8
              ? a.featureIds[Math.floor(rng.nextFloat() * a.featureIds.length)]
              : Math.floor(rng.nextFloat() * 5000),
          );
        const indices = Int32Array.from(ids);
        if (trial % 2 === 0) indices.sort();
        const values = Float32Array.from({ length: n }, () => (rng.nextFloat() - 0.5) * 4);
        const out = new Float32Array(a.stride);
        const expected = reference(indices, values);
        projectRow(out, 0, a.stride, a.featureIds, a.weights, indices, values, 0, n);
        expect(out).toEqual(expected);
        // Prefetching only loads the rows first: the same sums.
        out.fill(7);
        projectRow(out, 0, a.stride, a.featureIds, a.weights, indices, values, 0, n, true);
        expect(out).toEqual(expected);
      }
    },
  );
});
