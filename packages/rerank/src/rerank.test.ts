import type { CsrMatrix, KnnResult, LabelMatrix } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import {
  checkRerankerArrays,
  combineScore,
  concatRerankers,
  type RerankerArrays,
  rerankExamples,
  scoreShortlistImpl,
  trainReranker,
  trainRerankerRange,
  validateRerankSettings,
  validateRerankTrainOptions,
} from "./index.js";

/** A seeded generator (xorshift32) for the test data. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** `n` random sparse rows over `f` features (unit L2 norm), about `density` of them set. */
function randomRows(n: number, f: number, density: number, seed: number): CsrMatrix {
  const next = rng(seed);
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < n; r++) {
    const start = values.length;
    for (let j = 0; j < f; j++) {
      if (next() < density) {
        indices.push(j);
        values.push(next() + 0.1);
      }
    }
    let norm = 0;
    for (let p = start; p < values.length; p++) norm += values[p] ** 2;
    for (let p = start; p < values.length; p++) values[p] /= Math.sqrt(norm);
    indptr[r + 1] = values.length;
  }
  return {
    rows: n,
    cols: f,
    indptr,
    indices: Int32Array.from(indices),
    values: Float32Array.from(values),
  };
}

/** The scalar reference of a score: a merge of the two sorted sparse vectors. */
function referenceScore(a: RerankerArrays, l: number, idx: Int32Array, val: Float32Array): number {
  let s = 0;
  let p = a.indptr[l];
  let q = 0;
  while (p < a.indptr[l + 1] && q < idx.length) {
    if (a.indices[p] === idx[q]) s += a.weights[p++] * val[q++];
    else if (a.indices[p] < idx[q]) p++;
    else q++;
  }
  return s + a.bias[l];
}

describe("scoreShortlistImpl", () => {
  it("equals the merge of the sorted sparse vectors", () => {
    const w = randomRows(30, 40, 0.3, 7);
    const arrays: RerankerArrays = {
      labels: 30,
      features: 40,
      indptr: w.indptr,
      indices: w.indices,
      weights: w.values.map((v, i) => (i % 3 === 0 ? -v : v)),
      bias: Float32Array.from({ length: 30 }, (_, l) => l / 30 - 0.5),
    };
    const rows = randomRows(20, 40, 0.2, 8);
    const x = new Float32Array(40);
    const labels = Int32Array.from({ length: 12 }, (_, j) => (j * 7) % 30);
    const out = new Float32Array(14);
    for (let r = 0; r < rows.rows; r++) {
      const idx = rows.indices.subarray(rows.indptr[r], rows.indptr[r + 1]);
      const val = rows.values.subarray(rows.indptr[r], rows.indptr[r + 1]);
      for (let p = 0; p < idx.length; p++) x[idx[p]] = val[p];
      scoreShortlistImpl(arrays, x, labels, 2, 10, out);
      for (let p = 0; p < idx.length; p++) x[idx[p]] = 0;
      expect(out[0]).toBe(0);
      for (let j = 2; j < 12; j++)
        expect(out[j]).toBeCloseTo(referenceScore(arrays, labels[j], idx, val), 5);
    }
  });
});

describe("rerankExamples", () => {
  it("lists each label's positives, then its shortlisted non-positives, in row order", () => {
    const labels: LabelMatrix = {
      rows: 3,
      cols: 3,
      indptr: Int32Array.of(0, 1, 3, 3),
      indices: Int32Array.of(0, 0, 2),
    };
    const shortlist: KnnResult = {
      rows: 3,
      k: 2,
      ids: Int32Array.of(1, 0, 2, -1, 0, 2),
      scores: new Float32Array(6),
    };
    const e = rerankExamples(labels, shortlist);
    const of = (l: number) => Array.from(e.rows.subarray(e.indptr[l], e.indptr[l + 1]));
    expect(of(0)).toEqual([1, 2, -3]);
    expect(of(1)).toEqual([-1]);
    expect(of(2)).toEqual([2, -3]);
  });
});

describe("trainReranker", () => {
  // Label l is on the rows whose feature l is their largest of features 0..3.
  const n = 400;
  const features = randomRows(n, 30, 0.4, 3);
  const rowLabels: number[][] = [];
  for (let r = 0; r < n; r++) {
    const dense = new Float32Array(30);
    for (let p = features.indptr[r]; p < features.indptr[r + 1]; p++)
      dense[features.indices[p]] = features.values[p];
    let best = 0;
    for (let l = 1; l < 4; l++) if (dense[l] > dense[best]) best = l;
    rowLabels.push(dense[best] > 0 ? [best] : []);
  }
  const indptr = new Int32Array(n + 1);
  rowLabels.forEach((ls, r) => {
    indptr[r + 1] = indptr[r] + ls.length;
  });
  const labels: LabelMatrix = {
    rows: n,
    cols: 5,
    indptr,
    indices: Int32Array.from(rowLabels.flat()),
  };
  // Every row's shortlist: all labels but 4 (label 4 has no positive and no negative).
  const shortlist: KnnResult = {
    rows: n,
    k: 4,
    ids: Int32Array.from({ length: 4 * n }, (_, j) => j % 4),
    scores: new Float32Array(4 * n),
  };

  it("ranks each row's own label first on most rows", () => {
    const a = trainReranker(features, labels, shortlist, { seed: 1 });
    checkRerankerArrays(a, 5);
    expect(a.indptr[5] - a.indptr[4]).toBe(0);
    expect(a.bias[4]).toBe(-1);
    const x = new Float32Array(30);
    const out = new Float32Array(4);
    const ids = Int32Array.of(0, 1, 2, 3);
    let right = 0;
    let labelled = 0;
    for (let r = 0; r < n; r++) {
      if (rowLabels[r].length === 0) continue;
      labelled++;
      for (let p = features.indptr[r]; p < features.indptr[r + 1]; p++)
        x[features.indices[p]] = features.values[p];
      scoreShortlistImpl(a, x, ids, 0, 4, out);
      x.fill(0);
      let best = 0;
      for (let l = 1; l < 4; l++) if (out[l] > out[best]) best = l;
      if (best === rowLabels[r][0]) right++;
    }
    // Linear scorers of an argmax of 4 features: most, not all, rows right.
    expect(right / labelled).toBeGreaterThan(0.8);
  });

  it("gives each label the same scorer however the labels are split", () => {
    const whole = trainReranker(features, labels, shortlist, { seed: 9 });
    const e = rerankExamples(labels, shortlist);
    const split = concatRerankers([
      trainRerankerRange(features, e, 0, 1, { seed: 9 }),
      trainRerankerRange(features, e, 1, 3, { seed: 9 }),
      trainRerankerRange(features, e, 3, 5, { seed: 9 }),
    ]);
    expect(split).toEqual(whole);
    const other = trainReranker(features, labels, shortlist, { seed: 10 });
    expect(other.weights).not.toEqual(whole.weights);
  });

  it("prunes small weights", () => {
    const all = trainReranker(features, labels, shortlist, { prune: 0 });
    const pruned = trainReranker(features, labels, shortlist, { prune: 0.5 });
    expect(pruned.weights.length).toBeLessThan(all.weights.length);
    for (const w of pruned.weights) expect(Math.abs(w)).toBeGreaterThanOrEqual(0.5);
  });
});

describe("options", () => {
  it("fills defaults and names a bad value", () => {
    expect(validateRerankSettings({}).shortlist).toBe(10);
    expect(() => validateRerankSettings({ weight: 2 })).toThrow(
      /option 'weight' must be a number in \[0, 1\], but is 2/,
    );
    expect(() => validateRerankSettings({ shortlist: 0 })).toThrow(/'shortlist'/);
    expect(() => validateRerankTrainOptions({ cost: 0 })).toThrow(/'cost' must be a positive/);
    expect(() => validateRerankTrainOptions({ epochs: 1.5 })).toThrow(/'epochs'/);
  });

  it("combines a zero weight as the vote's order", () => {
    expect(combineScore(3, 6, -5, 0)).toBeCloseTo(Math.log(0.5));
    expect(combineScore(6, 6, 2, 0.5)).toBe(0);
    expect(combineScore(6, 6, 0, 1)).toBe(-1);
  });
});

describe("checkRerankerArrays", () => {
  it("refuses unsorted feature ids", () => {
    const a: RerankerArrays = {
      labels: 1,
      features: 5,
      indptr: Int32Array.of(0, 2),
      indices: Int32Array.of(3, 1),
      weights: Float32Array.of(1, 1),
      bias: Float32Array.of(0),
    };
    expect(() => checkRerankerArrays(a, 1)).toThrow(/not ascending/);
  });
});
