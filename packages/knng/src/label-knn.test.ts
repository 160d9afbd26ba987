import {
  type LabelMatrix,
  Rng,
  readDataset,
  selectRows,
  transposeLabels,
} from "@annexml/sparse-io";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_LABEL_KNN_OPTIONS,
  LabelKnnGraphBuilder,
  type LabelKnnOptions,
  labelKnnGraph,
  pruneThreshold,
  validateLabelKnnOptions,
} from "./label-knn.js";

const dataPath = (name: string) =>
  new URL(`../../../data/${name}/train.txt`, import.meta.url).pathname;

/** A direct transcript of the original's threshold walk (except: none fits -> 1). */
function naiveThreshold(lengths: number[], n: number, budget: number): number {
  if (!(budget > 0)) return Number.POSITIVE_INFINITY;
  const sorted = [...lengths].sort((a, b) => b - a);
  let count = 0;
  let thresh = Number.POSITIVE_INFINITY;
  let first = true;
  for (let i = 0; i < sorted.length; i++) {
    const len = sorted[sorted.length - 1 - i];
    count += len * len - len;
    if (count > n * budget) {
      if (first) thresh = 1;
      return thresh;
    }
    first = false;
    thresh = Math.max(len, 1);
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * Scalar reference of one row: every other row scored by a merge of the two
 * sorted label lists (skipping pruned labels), sorted by score descending
 * then id ascending, amplified. Scores as exact fractions in double.
 */
function naiveRow(
  labels: LabelMatrix,
  local: Int32Array,
  i: number,
  k: number,
  normalize: boolean,
  amplify: boolean,
  allowed: Uint8Array,
): { ids: number[]; scores: number[]; found: number } {
  const { indptr, indices } = labels;
  const ri = local[i];
  const cands: [number, number][] = [];
  for (let j = 0; j < local.length; j++) {
    if (j === i) continue;
    const rj = local[j];
    let a = indptr[ri];
    let b = indptr[rj];
    let shared = 0;
    while (a < indptr[ri + 1] && b < indptr[rj + 1]) {
      if (indices[a] < indices[b]) a++;
      else if (indices[a] > indices[b]) b++;
      else {
        if (allowed[indices[a]]) shared++;
        a++;
        b++;
      }
    }
    if (shared > 0) {
      cands.push([j, normalize ? Math.fround(shared / (indptr[rj + 1] - indptr[rj])) : shared]);
    }
  }
  cands.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
  const top = cands.slice(0, k);
  const ids: number[] = [];
  const scores: number[] = [];
  for (let s = 0; s < k; s++) {
    if (s < top.length) {
      ids.push(top[s][0]);
      scores.push(Math.fround(top[s][1]));
    } else if (amplify && top.length > 0) {
      ids.push(top[s % top.length][0]);
      scores.push(Math.fround(top[s % top.length][1]));
    } else {
      ids.push(-1);
      scores.push(0);
    }
  }
  return { ids, scores, found: top.length };
}

/** Which labels survive pruning for the given local rows (naive lengths + threshold). */
function allowedLabels(labels: LabelMatrix, local: Int32Array, budget: number): Uint8Array {
  const lengths = new Array<number>(labels.cols).fill(0);
  for (const r of local) {
    for (let p = labels.indptr[r]; p < labels.indptr[r + 1]; p++) lengths[labels.indices[p]]++;
  }
  const used = lengths.filter((x) => x > 0);
  const t = naiveThreshold(used, local.length, budget);
  return Uint8Array.from(lengths, (x) => (x <= t ? 1 : 0));
}

function expectRowsMatch(
  labels: LabelMatrix,
  options: LabelKnnOptions,
  checkRows: ArrayLike<number> | null,
  builder = new LabelKnnGraphBuilder(),
) {
  const local = options.rows ?? Int32Array.from({ length: labels.rows }, (_, i) => i);
  const k = options.k ?? 10;
  const g = builder.build(labels, options);
  expect(g.rows).toBe(local.length);
  expect(g.k).toBe(k);
  expect(g.ids.length).toBe(local.length * k);
  const allowed = allowedLabels(labels, local, options.pruneBudget ?? 0);
  const list = checkRows ?? Array.from({ length: local.length }, (_, i) => i);
  for (let t = 0; t < list.length; t++) {
    const i = list[t];
    const ref = naiveRow(
      labels,
      local,
      i,
      k,
      options.labelNormalize ?? true,
      options.amplify ?? true,
      allowed,
    );
    const ids = [...g.ids.subarray(i * k, (i + 1) * k)];
    const scores = [...g.scores.subarray(i * k, (i + 1) * k)];
    if (ids.join() !== ref.ids.join() || scores.join() !== ref.scores.join()) {
      expect({ row: i, ids, scores }).toEqual({ row: i, ids: ref.ids, scores: ref.scores });
    }
    expect(g.found[i]).toBe(ref.found);
  }
  return g;
}

/** Random label sets with a skewed (head-heavy) label distribution. */
function randomLabels(rng: Rng, rows: number, cols: number, maxPerRow: number): LabelMatrix {
  const indptr = new Int32Array(rows + 1);
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const m = rng.nextInt(maxPerRow + 1);
    const set = new Set<number>();
    for (let t = 0; t < m; t++) {
      const u = rng.nextFloat();
      set.add(Math.floor(u * u * u * cols));
    }
    out.push(...[...set].sort((a, b) => a - b));
    indptr[r + 1] = out.length;
  }
  return { rows, cols, indptr, indices: Int32Array.from(out) };
}

describe("pruneThreshold", () => {
  it("stops at the first list whose addition would exceed rows * budget", () => {
    // costs n^2 - n: 1 -> 0, 2 -> 2, 3 -> 6, 4 -> 12, 10 -> 90
    expect(pruneThreshold(Int32Array.from([4, 1, 3, 2, 10]), 2, 10)).toBe(4); // 0+2+6+12 = 20 <= 20
    expect(pruneThreshold(Int32Array.from([4, 1, 3, 2, 10]), 2, 9.9)).toBe(3); // 20 > 19.8
    expect(pruneThreshold(Int32Array.from([4, 1, 3, 2, 10]), 2, 55)).toBe(Number.POSITIVE_INFINITY);
    expect(pruneThreshold(Int32Array.from([5, 5]), 1, 1)).toBe(1); // none fits
    expect(pruneThreshold(Int32Array.from([5, 5]), 1, 0)).toBe(Number.POSITIVE_INFINITY);
    // Ties at the threshold: the second list of length 3 does not fit, but the
    // threshold is 3, so it is kept when scoring.
    expect(pruneThreshold(Int32Array.from([3, 3, 9]), 1, 7)).toBe(3);
  });

  it("matches a transcript of the original's walk (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 400 }),
        (lengths, n, budget) => {
          expect(pruneThreshold(Int32Array.from(lengths), n, budget)).toBe(
            naiveThreshold(lengths, n, budget),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("labelKnnGraph on small random data", () => {
  it("matches the naive reference for every option combination (property)", () => {
    const builder = new LabelKnnGraphBuilder();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 0.5, 2, 10),
        (seed, rows, cols, k, normalize, amplify, useSubset, budget) => {
          const rng = new Rng(seed);
          const labels = randomLabels(rng, rows, cols, 6);
          let subset: Int32Array | undefined;
          if (useSubset) {
            const all = rng.shuffle(Int32Array.from({ length: rows }, (_, i) => i));
            subset = all.slice(0, 1 + rng.nextInt(rows));
          }
          expectRowsMatch(
            labels,
            { k, labelNormalize: normalize, amplify, rows: subset, pruneBudget: budget },
            null,
            builder,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("amplifies cyclically, pads with -1 without amplification, excludes self", () => {
    // rows: 0 {0,1}, 1 {1}, 2 {0,1,2}, 3 {5}, 4 {}
    const labels: LabelMatrix = {
      rows: 5,
      cols: 6,
      indptr: Int32Array.from([0, 2, 3, 6, 7, 7]),
      indices: Int32Array.from([0, 1, 1, 0, 1, 2, 5]),
    };
    const g = labelKnnGraph(labels, { k: 5 });
    // row 0: 1 -> 1/1, 2 -> 2/3
    expect([...g.ids.subarray(0, 5)]).toEqual([1, 2, 1, 2, 1]);
    expect([...g.scores.subarray(0, 5)]).toEqual(
      [1, 2 / 3, 1, 2 / 3, 1].map((x) => Math.fround(x)),
    );
    expect([...g.ids.subarray(15, 20)]).toEqual([-1, -1, -1, -1, -1]); // row 3 alone with label 5
    expect([...g.ids.subarray(20, 25)]).toEqual([-1, -1, -1, -1, -1]); // row 4 has no labels
    expect([...g.scores.subarray(20, 25)]).toEqual([0, 0, 0, 0, 0]);
    expect([...g.found]).toEqual([2, 2, 2, 0, 0]);
    const plain = labelKnnGraph(labels, { k: 3, amplify: false, labelNormalize: false });
    // row 1 {1}: rows 0 and 2 share one label each: tie -> lower id first
    expect([...plain.ids.subarray(3, 6)]).toEqual([0, 2, -1]);
    expect([...plain.scores.subarray(3, 6)]).toEqual([1, 1, 0]);
  });

  it("speaks of local positions for a row subset, including repeated rows", () => {
    const labels: LabelMatrix = {
      rows: 4,
      cols: 3,
      indptr: Int32Array.from([0, 1, 2, 3, 5]),
      indices: Int32Array.from([0, 1, 2, 1, 2]),
    };
    const g = labelKnnGraph(labels, { k: 2, rows: Int32Array.from([3, 1, 1]), amplify: false });
    expect(g.rows).toBe(3);
    // local 0 = row 3 {1,2}; local 1, 2 = row 1 {1}
    expect([...g.ids]).toEqual([1, 2, 2, 0, 1, 0]);
    expect([...g.scores]).toEqual([1, 1, 1, 0.5, 1, 0.5]);
  });

  it("validates its options and the matrix, naming the bad value", () => {
    const labels = randomLabels(new Rng(1), 10, 5, 3);
    expect(() => labelKnnGraph(labels, { k: 0 })).toThrowError(
      /k must be a positive integer, but is 0/,
    );
    expect(() => labelKnnGraph(labels, { k: 2.5 })).toThrowError(
      expect.objectContaining({ name: "AnnexmlError", code: "BAD_OPTION" }),
    );
    expect(() => labelKnnGraph(labels, { pruneBudget: -1 })).toThrowError(
      /pruneBudget must be a finite non-negative number, but is -1/,
    );
    expect(() => labelKnnGraph(labels, { rows: Int32Array.from([0, 10]) })).toThrowError(
      /rows\[1\] must be a row id in \[0, 10\), but is 10/,
    );
    expect(() => labelKnnGraph(labels, { rows: [1, 2] as unknown as Int32Array })).toThrowError(
      expect.objectContaining({
        code: "BAD_OPTION",
        message: "rows must be an Int32Array of row ids",
      }),
    );
    expect(() => validateLabelKnnOptions({ amplify: 1 as unknown as boolean })).toThrowError(
      /amplify must be a boolean/,
    );
    const unsorted: LabelMatrix = {
      rows: 1,
      cols: 4,
      indptr: Int32Array.from([0, 2]),
      indices: Int32Array.from([2, 1]),
    };
    expect(() => labelKnnGraph(unsorted)).toThrowError(
      /labels row 0 must hold sorted unique label ids in \[0, 4\), but has 1 after 2/,
    );
    const outOfRange = { ...unsorted, indices: Int32Array.from([1, 4]) };
    expect(() => labelKnnGraph(outOfRange)).toThrowError(/but has 4 after 1/);
    // A builder that threw stays usable.
    const builder = new LabelKnnGraphBuilder();
    expect(() => builder.build(outOfRange)).toThrowError(
      expect.objectContaining({ name: "AnnexmlError", code: "BAD_INPUT" }),
    );
    expectRowsMatch(labels, { k: 3 }, null, builder);
    expect(DEFAULT_LABEL_KNN_OPTIONS).toEqual({
      k: 10,
      labelNormalize: true,
      pruneBudget: 0,
      amplify: true,
    });
  });

  it("handles empty inputs", () => {
    const empty: LabelMatrix = {
      rows: 0,
      cols: 0,
      indptr: Int32Array.from([0]),
      indices: new Int32Array(0),
    };
    const g = labelKnnGraph(empty);
    expect(g.rows).toBe(0);
    expect(g.ids.length).toBe(0);
    const labels = randomLabels(new Rng(3), 5, 4, 2);
    expect(labelKnnGraph(labels, { rows: new Int32Array(0) }).rows).toBe(0);
  });
});

describe("labelKnnGraph on the bundled datasets", () => {
  let bibtex: LabelMatrix;
  let delicious: LabelMatrix;
  beforeAll(async () => {
    bibtex = (await readDataset(dataPath("bibtex"))).labels;
    delicious = (await readDataset(dataPath("delicious"))).labels;
  });

  it("bibtex, all rows, k = 10: matches the naive reference on sampled rows", () => {
    const sample = Array.from({ length: 300 }, (_, t) => (t * 7919) % bibtex.rows);
    const g = expectRowsMatch(bibtex, { k: 10 }, sample);
    // Most bibtex rows find 10 positives; none gets itself.
    let withPositives = 0;
    for (let i = 0; i < g.rows; i++) {
      if (g.ids[i * 10] >= 0) withPositives++;
      for (let s = 0; s < 10; s++) expect(g.ids[i * 10 + s]).not.toBe(i);
    }
    expect(withPositives / g.rows).toBeGreaterThan(0.99);
  });

  it("delicious, all rows, pruned at 5000 and unpruned, unnormalised: matches on sampled rows", () => {
    const sample = Array.from({ length: 120 }, (_, t) => (t * 104729) % delicious.rows);
    const pruned = expectRowsMatch(delicious, { k: 10, pruneBudget: 5000 }, sample);
    // delicious has heavy head labels: the budget prunes some of them.
    expect(pruned.pruneThreshold).toBeLessThan(delicious.rows);
    const counts = transposeLabels(delicious).indptr;
    let longest = 0;
    for (let l = 0; l < delicious.cols; l++) longest = Math.max(longest, counts[l + 1] - counts[l]);
    expect(pruned.pruneThreshold).toBeLessThan(longest);
    expectRowsMatch(delicious, { k: 10, labelNormalize: false }, sample.slice(0, 60));
  });

  it("delicious, per-partition subsets with one reused builder: matches the full reference", () => {
    const rng = new Rng(42);
    const perm = rng.shuffle(Int32Array.from({ length: delicious.rows }, (_, i) => i));
    const builder = new LabelKnnGraphBuilder();
    const sizes = [1500, 40, 3000];
    let from = 0;
    for (const size of sizes) {
      const rows = perm.slice(from, from + size);
      from += size;
      const check = size > 1500 ? Array.from({ length: 300 }, (_, t) => (t * 7919) % size) : null;
      expectRowsMatch(delicious, { k: 10, rows }, check, builder);
      // Same graph as building on the selected rows' own matrix.
      const own = labelKnnGraph(selectRows(delicious, rows), { k: 10 });
      const viaSubset = builder.build(delicious, { k: 10, rows });
      expect(viaSubset.ids).toEqual(own.ids);
      expect(viaSubset.scores).toEqual(own.scores);
    }
    // bibtex through the same builder (a smaller label space) after delicious.
    expectRowsMatch(
      bibtex,
      { k: 5, rows: perm.filter((r) => r < bibtex.rows).slice(0, 800) },
      null,
      builder,
    );
  });
});
