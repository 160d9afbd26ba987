import { type CsrMatrix, deriveSeed, type LabelMatrix, selectRows } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { fitKmeans } from "./kmeans.js";
import { fitMincut } from "./mincut.js";
import { partitionModelFromArrays } from "./model.js";
import { createPartitioner } from "./registry.js";
import { Rng, randomCsr } from "./test-util.js";
import { allocateLeaves, childCount, fitTree } from "./tree.js";
import type { PartitionArrays } from "./types.js";

/** Rows in `groups` clusters: each group has its own features and labels, so a good split is clear. */
function clustered(rows: number, groups: number, seed: number): { x: CsrMatrix; y: LabelMatrix } {
  const rng = new Rng(seed);
  const noise = randomCsr(rng, rows, groups * 20, 3, { positive: true, normalise: false });
  const indptr = new Int32Array(rows + 1);
  const idx: number[] = [];
  const val: number[] = [];
  const yptr = new Int32Array(rows + 1);
  const lab: number[] = [];
  for (let r = 0; r < rows; r++) {
    const g = r % groups;
    const feats = new Map<number, number>();
    for (let t = 0; t < 4; t++) feats.set(g * 20 + rng.nextInt(10), 1 + rng.nextFloat());
    for (let p = noise.indptr[r]; p < noise.indptr[r + 1]; p++) {
      feats.set(noise.indices[p], (feats.get(noise.indices[p]) ?? 0) + 0.2 * noise.values[p]);
    }
    const sorted = [...feats.keys()].sort((a, b) => a - b);
    let norm = 0;
    for (const f of sorted) norm += feats.get(f)! ** 2;
    for (const f of sorted) {
      idx.push(f);
      val.push(feats.get(f)! / Math.sqrt(norm));
    }
    indptr[r + 1] = idx.length;
    const labels = new Set([g * 3 + rng.nextInt(3), groups * 3 + rng.nextInt(5)]);
    for (const l of [...labels].sort((a, b) => a - b)) lab.push(l);
    yptr[r + 1] = lab.length;
  }
  return {
    x: {
      rows,
      cols: groups * 20,
      indptr,
      indices: Int32Array.from(idx),
      values: Float32Array.from(val),
    },
    y: { rows, cols: groups * 3 + 5, indptr: yptr, indices: Int32Array.from(lab) },
  };
}

/** Scalar reference of the tree descent: dense centres, naive dot products, lowest child on ties. */
function referenceDescend(a: PartitionArrays, indices: Int32Array, values: Float32Array): number {
  const ptr = a.treeChildPtr!;
  const child = a.treeChild!;
  const centres = child.length;
  const dense = new Float64Array(centres * a.numFeatures);
  for (let f = 0; f < a.numFeatures; f++) {
    for (let p = a.featurePtr[f]; p < a.featurePtr[f + 1]; p++) {
      dense[a.partitions[p] * a.numFeatures + f] = a.weights[p];
    }
  }
  let node = 0;
  for (let depth = 0; depth < 1000; depth++) {
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let e = ptr[node]; e < ptr[node + 1]; e++) {
      let s = 0;
      for (let p = 0; p < indices.length; p++) {
        if (indices[p] < a.numFeatures) s += dense[e * a.numFeatures + indices[p]] * values[p];
      }
      if (s > bestScore) {
        bestScore = s;
        best = e;
      }
    }
    if (child[best] < 0) return -1 - child[best];
    node = child[best];
  }
  throw new Error("the reference did not reach a leaf");
}

function plain(a: PartitionArrays) {
  return Object.fromEntries(
    Object.entries(a).map(([key, v]) => [key, ArrayBuffer.isView(v) ? [...(v as Int32Array)] : v]),
  );
}

describe("childCount", () => {
  it("keeps the tree shallow: m <= b leaves are children, else ceil(m / b^(d-1))", () => {
    expect([10, 16, 17, 40, 166, 256, 257, 300].map((m) => childCount(m, 16))).toEqual([
      10, 16, 2, 3, 11, 16, 2, 2,
    ]);
    expect([2, 3, 4, 5, 8, 9].map((m) => childCount(m, 2))).toEqual([2, 2, 2, 2, 2, 2]);
  });
});

describe("allocateLeaves", () => {
  it("gives every child one leaf and the rest in proportion to its rows", () => {
    expect([...allocateLeaves(Int32Array.of(300, 100), 8)]).toEqual([6, 2]);
    expect([...allocateLeaves(Int32Array.of(0, 10, 0), 5)]).toEqual([1, 3, 1]);
    expect([...allocateLeaves(Int32Array.of(5, 5), 3)]).toEqual([2, 1]); // tie: lower child
    expect([...allocateLeaves(Int32Array.of(0, 0), 4)]).toEqual([3, 1]);
    const sizes = Int32Array.of(7, 1, 13, 2);
    for (let m = 4; m < 40; m++) expect(allocateLeaves(sizes, m).reduce((s, v) => s + v)).toBe(m);
  });
});

describe("tree partitioner", () => {
  const { x, y } = clustered(1200, 12, 3);

  it("builds exactly K leaves, all used, a real tree when K > treeBranching", () => {
    for (const treeSplitter of ["mincut", "kmeans"] as const) {
      const model = fitTree(x, y, { k: 12, treeBranching: 3, treeSplitter, iters: 5, seed: 9 });
      const a = model.toArrays();
      expect(model.k).toBe(12);
      expect(a.treeChildPtr!.length).toBeGreaterThan(2); // more than a root
      const sizes = new Int32Array(12);
      for (const c of model.assignAll(x)) sizes[c]++;
      expect(Math.min(...sizes)).toBeGreaterThan(0);
      // The tree groups the 12 planted clusters: most rows of a group share a leaf.
      let kept = 0;
      const assignment = model.assignAll(x);
      for (let g = 0; g < 12; g++) {
        const count = new Map<number, number>();
        for (let r = g; r < x.rows; r += 12)
          count.set(assignment[r], (count.get(assignment[r]) ?? 0) + 1);
        kept += Math.max(...count.values());
      }
      expect(kept / x.rows).toBeGreaterThan(0.8);
    }
  });

  it("descends like the scalar reference, on its own and after a round trip", () => {
    const model = fitTree(x, y, { k: 10, treeBranching: 2, iters: 3, seed: 1 });
    const a = model.toArrays();
    const again = partitionModelFromArrays(a);
    const rng = new Rng(5);
    const probes = randomCsr(rng, 200, x.cols + 10, 6); // some features beyond numFeatures
    for (let r = 0; r < probes.rows; r++) {
      const from = probes.indptr[r];
      const to = probes.indptr[r + 1];
      const i = probes.indices.subarray(from, to);
      const v = probes.values.subarray(from, to);
      const want = referenceDescend(a, i, v);
      expect(model.assign(i, v)).toBe(want);
      expect(again.assign(i, v)).toBe(want);
    }
    expect([...again.assignAll(x)]).toEqual([...model.assignAll(x)]);
  });

  it("is the flat splitter's model, byte for byte, when treeBranching >= K", () => {
    const tree = fitTree(x, y, { k: 6, treeBranching: 6, iters: 4, seed: 2 }).toArrays();
    expect(tree.treeChild).toBeUndefined();
    expect(plain(tree)).toEqual(plain(fitMincut(x, y, { k: 6, iters: 4, seed: 2 }).toArrays()));
    const km = fitTree(x, y, { k: 6, treeBranching: 8, treeSplitter: "kmeans", seed: 2 });
    expect(plain(km.toArrays())).toEqual(plain(fitKmeans(x, y, { k: 6, seed: 2 }).toArrays()));
  });

  it("trains a node in its compact feature space like in the global one (a manual two-level tree)", () => {
    const seed = 6;
    const tree = fitTree(x, y, { k: 4, treeBranching: 2, iters: 3, seed, treeSampleRows: 0 });
    expect(tree.toArrays().treeChildPtr!.length).toBe(4); // root + 2 nodes
    const root = fitMincut(x, y, { k: 2, iters: 3, seed });
    const top = root.assignAll(x);
    const want = new Int32Array(x.rows);
    for (let c = 0; c < 2; c++) {
      const rows = Int32Array.from([...top.keys()].filter((r) => top[r] === c));
      const sub = fitMincut(selectRows(x, rows), selectRows(y, rows), {
        k: 2,
        iters: 3,
        seed: deriveSeed(seed, c + 1),
      });
      const inner = sub.assignAll(selectRows(x, rows));
      rows.forEach((r, t) => {
        want[r] = 2 * c + inner[t];
      });
    }
    expect([...tree.assignAll(x)]).toEqual([...want]);
  });

  it("trains upper nodes on a sample of treeSampleRows rows, and still routes every row", () => {
    const sampled = fitTree(x, y, { k: 12, treeBranching: 4, treeSampleRows: 300, seed: 3 });
    const again = fitTree(x, y, { k: 12, treeBranching: 4, treeSampleRows: 300, seed: 3 });
    const full = fitTree(x, y, { k: 12, treeBranching: 4, treeSampleRows: 0, seed: 3 });
    expect(plain(sampled.toArrays())).toEqual(plain(again.toArrays()));
    expect(plain(sampled.toArrays())).not.toEqual(plain(full.toArrays()));
    const sizes = new Int32Array(12);
    for (const c of sampled.assignAll(x)) sizes[c]++;
    expect(Math.min(...sizes)).toBeGreaterThan(0);
    // The root trains on 300 of the 1200 rows: its epochs report 300-row visits.
    const visits: number[] = [];
    fitTree(x, y, {
      k: 12,
      treeBranching: 4,
      treeSampleRows: 300,
      seed: 3,
      iters: 1,
      onProgress: (d) => visits.push(d),
    });
    expect(visits).toContain(300);
  });

  it("is deterministic by seed and does not mutate its inputs", () => {
    const before = plain(x as unknown as PartitionArrays);
    const a = plain(
      createPartitioner("tree").fit(x, y, { k: 9, treeBranching: 2, seed: 4 }).toArrays(),
    );
    const b = plain(fitTree(x, y, { k: 9, treeBranching: 2, seed: 4 }).toArrays());
    const c = plain(fitTree(x, y, { k: 9, treeBranching: 2, seed: 5 }).toArrays());
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(plain(x as unknown as PartitionArrays)).toEqual(before);
  });

  it("reports progress that never decreases and ends at the total, and every epoch", () => {
    const seen: [number, number][] = [];
    let epochs = 0;
    fitTree(x, y, {
      k: 8,
      treeBranching: 2,
      iters: 2,
      treeUpperSplitter: "mincut", // k-means may stop early
      onProgress: (d, t) => seen.push([d, t]),
      onEpoch: (e) => {
        epochs++;
        expect(e.epoch).toBe(epochs);
      },
    });
    expect(epochs).toBe(2 * 7); // 7 internal nodes of a binary tree with 8 leaves
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThanOrEqual(seen[i - 1][0]);
    expect(seen.at(-1)![0]).toBe(seen.at(-1)![1]);
  });

  it("rejects bad tree options with BAD_OPTION naming the value", () => {
    for (const treeBranching of [1, 2.5, 257, Number.NaN]) {
      expect(() => fitTree(x, y, { k: 4, treeBranching })).toThrow(
        expect.objectContaining({
          code: "BAD_OPTION",
          message: expect.stringContaining(
            `treeBranching must be an integer in [2, 256], but is ${treeBranching}`,
          ),
        }),
      );
    }
    expect(() => fitTree(x, y, { treeSplitter: "tree" as "kmeans" })).toThrow(
      'treeSplitter must be one of mincut, kmeans, but is "tree"',
    );
    expect(() => fitTree(x, y, { treeUpperSplitter: "flat" as "kmeans" })).toThrow(
      'treeUpperSplitter must be one of mincut, kmeans, but is "flat"',
    );
  });

  it("handles nodes with too few rows: K = N leaves, some empty", () => {
    const small = clustered(7, 2, 1);
    const model = fitTree(small.x, small.y, { k: 7, treeBranching: 2, seed: 3 });
    expect(model.k).toBe(7);
    const assignment = model.assignAll(small.x);
    for (const c of assignment) expect(c >= 0 && c < 7).toBe(true);
    expect(() => partitionModelFromArrays(model.toArrays())).not.toThrow();
  });
});

describe("tree model validation", () => {
  const { x, y } = clustered(400, 4, 8);
  const good = fitTree(x, y, { k: 6, treeBranching: 2, iters: 2, seed: 1 }).toArrays();
  const edit = (change: Partial<Record<"treeChildPtr" | "treeChild", Int32Array | undefined>>) => ({
    ...good,
    ...change,
  });

  it("accepts the trained arrays", () => {
    expect(() => partitionModelFromArrays(good)).not.toThrow();
  });

  const child = good.treeChild!;
  const ptr = good.treeChildPtr!;
  const cases: [string, PartitionArrays, string][] = [
    ["only one tree field", edit({ treeChild: undefined }), "must both be Int32Arrays"],
    [
      "a cycle (child = its parent)",
      edit({ treeChild: child.map((v, e) => (e === ptr[1] ? 1 : v)) }),
      "must be an unused node",
    ],
    [
      "a back edge to the root",
      edit({ treeChild: child.map((v, e) => (e === ptr[1] ? 0 : v)) }),
      "must be an unused node",
    ],
    [
      "a node id out of range",
      edit({ treeChild: child.map((v, e) => (v > 0 && e === child.indexOf(v) ? 1000 : v)) }),
      "must be an unused node",
    ],
    [
      "a leaf out of range",
      edit({ treeChild: child.map((v) => (v === -1 ? -99 : v)) }),
      "unused leaf in [0, 6), but is 98",
    ],
    [
      "a leaf listed twice",
      edit({ treeChild: child.map((v) => (v === -2 ? -1 : v)) }),
      "unused leaf in [0, 6), but is 0",
    ],
    [
      "int32 minimum as a child",
      edit({ treeChild: child.map((v) => (v === -1 ? -(2 ** 31) : v)) }),
      "unused leaf",
    ],
    [
      "a node without children",
      edit({ treeChildPtr: ptr.map((v, i) => (i === 1 ? 0 : v)) }),
      "must have at least one child",
    ],
    [
      "pointers beyond the centres",
      edit({ treeChildPtr: ptr.map((v, i) => (i === ptr.length - 1 ? v + 1 : v)) }),
      "treeChildPtr must run from 0",
    ],
    [
      "an empty pointer array",
      edit({ treeChildPtr: new Int32Array(0) }),
      "treeChildPtr must run from 0",
    ],
    [
      "a centre id beyond the tree",
      {
        ...good,
        partitions: good.partitions.map((c) => (c === child.length - 1 ? child.length : c)),
      },
      "sorted unique centres in [0, ",
    ],
  ];
  for (const [what, arrays, message] of cases) {
    it(`rejects ${what} with BAD_INPUT`, () => {
      expect(() => partitionModelFromArrays(arrays)).toThrow(
        expect.objectContaining({ code: "BAD_INPUT", message: expect.stringContaining(message) }),
      );
    });
  }
});
