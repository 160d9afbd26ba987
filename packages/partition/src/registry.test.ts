import type { CsrMatrix, LabelMatrix } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { partitionModelFromArrays } from "./model.js";
import {
  DEFAULT_PARTITION_OPTIONS,
  resolvePartitionCount,
  validateFitInput,
  validatePartitionOptions,
} from "./options.js";
import {
  CLS_TYPE_NAMES,
  createPartitioner,
  partitionerNames,
  registerPartitioner,
} from "./registry.js";
import { cloneCsr, Rng, randomCsr } from "./test-util.js";
import type { Partitioner } from "./types.js";

/** A toy user partitioner: partition k owns the features f with f % K === k (weight 1). */
const moduloPartitioner: Partitioner = {
  name: "feature-modulo",
  fit(features, labels, options) {
    const o = validatePartitionOptions(options);
    validateFitInput(features, labels, false);
    const k = resolvePartitionCount(features.rows, o);
    const f = features.cols;
    return partitionModelFromArrays({
      k,
      numFeatures: f,
      featurePtr: new Int32Array(f + 1).map((_, j) => j),
      partitions: new Int32Array(f).map((_, j) => j % k),
      weights: new Float32Array(f).fill(1),
    });
  },
};
registerPartitioner(moduloPartitioner);

function randomLabels(rng: Rng, rows: number, cols: number): LabelMatrix {
  const m = randomCsr(rng, rows, cols, 3);
  return { rows: m.rows, cols: m.cols, indptr: m.indptr, indices: m.indices };
}

describe("registry", () => {
  it("knows kmeans (cls_type 0) and mincut (cls_type 1) by name", () => {
    expect(createPartitioner("kmeans").name).toBe("kmeans");
    expect(createPartitioner("mincut").name).toBe("mincut");
    expect(CLS_TYPE_NAMES).toEqual(["kmeans", "mincut", "tree"]);
    expect(partitionerNames()).toEqual(["kmeans", "mincut", "tree", "feature-modulo"]);
  });

  it("rejects unknown names, listing the known ones", () => {
    expect(() => createPartitioner("spectral")).toThrow(
      'unknown partitioner "spectral"; known partitioners: kmeans, mincut, tree, feature-modulo',
    );
  });

  it("refuses to replace a registered partitioner or register a malformed one", () => {
    expect(() => registerPartitioner({ ...moduloPartitioner })).toThrow(
      'a partitioner named "feature-modulo" is already registered',
    );
    const badOption = expect.objectContaining({ name: "AnnexmlError", code: "BAD_OPTION" });
    expect(() => registerPartitioner({ name: "kmeans", fit: moduloPartitioner.fit })).toThrow(
      badOption,
    );
    expect(() => registerPartitioner({ name: "", fit: moduloPartitioner.fit })).toThrow(badOption);
    expect(() => registerPartitioner({ name: "x" } as unknown as Partitioner)).toThrow(badOption);
    expect(() => createPartitioner("nope")).toThrow(badOption);
  });
});

// One contract, every registered partitioner.
for (const name of ["kmeans", "mincut", "feature-modulo"]) {
  describe(`Partitioner contract: ${name}`, () => {
    const rng = new Rng(21);
    const x = randomCsr(rng, 120, 30, 6);
    const labels = randomLabels(rng, 120, 15);
    const p = createPartitioner(name);

    it("honours k, covers every row and is deterministic by seed", () => {
      const m = p.fit(x, labels, { k: 4, iters: 3, seed: 7 });
      expect(m.k).toBe(4);
      expect(m.numFeatures).toBe(30);
      const assignment = m.assignAll(x);
      expect(assignment).toHaveLength(120);
      for (const c of assignment) expect(c >= 0 && c < 4).toBe(true);
      expect(p.fit(x, labels, { k: 4, iters: 3, seed: 7 }).toArrays()).toEqual(m.toArrays());
    });

    it("derives K from clusterSize", () => {
      expect(p.fit(x, labels, { clusterSize: 40, iters: 1 }).k).toBe(3);
      expect(p.fit(x, labels, { clusterSize: 500, iters: 1 }).k).toBe(1);
    });

    it("K = 1 sends everything to partition 0", () => {
      const m = p.fit(x, labels, { k: 1 });
      expect(m.k).toBe(1);
      expect(m.assignAll(x).every((c) => c === 0)).toBe(true);
    });

    it("serialises to plain arrays and back", () => {
      const m = p.fit(x, labels, { k: 5, iters: 2 });
      const back = partitionModelFromArrays(m.toArrays());
      expect(back.assignAll(x)).toEqual(m.assignAll(x));
    });

    it("never mutates its inputs", () => {
      const xc = cloneCsr(x);
      const lc = { ...labels, indptr: labels.indptr.slice(), indices: labels.indices.slice() };
      p.fit(x, labels, { k: 3, iters: 2 });
      expect(x).toEqual(xc);
      expect(labels).toEqual(lc);
    });

    it("rejects bad input with errors that name the value", () => {
      expect(() => p.fit(x, labels, { k: 0 })).toThrow("k must be a positive integer, but is 0");
      expect(() => p.fit(x, labels, { k: 121 })).toThrow(
        "k must be at most the number of rows (120), but is 121",
      );
      expect(() => p.fit(x, labels, { k: 2.5 })).toThrow(
        expect.objectContaining({ name: "AnnexmlError", code: "BAD_OPTION" }),
      );
      const fewer = { ...labels, rows: 119, indptr: labels.indptr.subarray(0, 120) };
      const shortLabels = { ...fewer, indices: labels.indices.subarray(0, fewer.indptr[119]) };
      expect(() => p.fit(x, shortLabels, { k: 2 })).toThrow(
        expect.objectContaining({
          code: "BAD_INPUT",
          message: "labels must have as many rows as features (120), but has 119",
        }),
      );
      const nan = { ...x, values: x.values.slice() };
      nan.values[5] = Number.NaN;
      expect(() => p.fit(nan, labels, { k: 2 })).toThrow("entry 5 is NaN");
      const empty: CsrMatrix = {
        rows: 0,
        cols: 30,
        indptr: new Int32Array(1),
        indices: new Int32Array(0),
        values: new Float32Array(0),
      };
      const noLabels: LabelMatrix = {
        rows: 0,
        cols: 15,
        indptr: new Int32Array(1),
        indices: new Int32Array(0),
      };
      expect(() => p.fit(empty, noLabels)).toThrow(
        "features must have at least one row, but has 0",
      );
      const blank: CsrMatrix = { ...empty, rows: 3, indptr: new Int32Array(4) };
      const blankLabels: LabelMatrix = { ...noLabels, rows: 3, indptr: new Int32Array(4) };
      expect(() => p.fit(blank, blankLabels, { k: 1 })).toThrow(
        "features must have at least one non-zero entry, but all 3 rows are empty",
      );
    });
  });
}

describe("options", () => {
  it("fills in the original's defaults", () => {
    expect(validatePartitionOptions()).toEqual(DEFAULT_PARTITION_OPTIONS);
    expect(DEFAULT_PARTITION_OPTIONS).toMatchObject({
      clusterSize: 6000,
      iters: 10,
      seed: 0x5eed,
      eta0: 0.1,
      lambda: 4,
      numNeighbours: 10,
      labelNormalize: true,
      pruneBudget: 5000,
    });
    expect(validatePartitionOptions({ k: undefined, iters: 3 }).iters).toBe(3);
  });

  it("names the bad value", () => {
    const bad = (o: object) => () => validatePartitionOptions(o);
    expect(bad({ k: -1 })).toThrow("k must be a positive integer, but is -1");
    expect(bad({ clusterSize: 0 })).toThrow("clusterSize must be a positive integer, but is 0");
    expect(bad({ iters: -2 })).toThrow("iters must be a non-negative integer, but is -2");
    expect(bad({ seed: 0.5 })).toThrow("seed must be an integer, but is 0.5");
    expect(bad({ eta0: 0 })).toThrow("eta0 must be a positive finite number, but is 0");
    expect(bad({ lambda: Number.NaN })).toThrow(
      "lambda must be a non-negative finite number, but is NaN",
    );
    expect(bad({ numNeighbours: 0 })).toThrow("numNeighbours must be a positive integer, but is 0");
    expect(bad({ labelNormalize: 1 })).toThrow(
      expect.objectContaining({
        code: "BAD_OPTION",
        message: "labelNormalize must be a boolean, but is 1",
      }),
    );
    expect(bad({ pruneBudget: 1.5 })).toThrow(
      "pruneBudget must be a non-negative integer, but is 1.5",
    );
    expect(bad({ memoryBudgetBytes: -1 })).toThrow(
      "memoryBudgetBytes must be a non-negative number, but is -1",
    );
    expect(bad({ onEpoch: 3 })).toThrow("onEpoch must be a function, but is number");
  });

  it("K = max(floor(N / clusterSize), 1) unless given", () => {
    const o = validatePartitionOptions({ clusterSize: 1500 });
    expect(resolvePartitionCount(4880, o)).toBe(3);
    expect(resolvePartitionCount(12920, o)).toBe(8);
    expect(resolvePartitionCount(10, o)).toBe(1);
    expect(resolvePartitionCount(10, validatePartitionOptions({ k: 10 }))).toBe(10);
  });

  it("min-cut needs labels", () => {
    const x = randomCsr(new Rng(2), 10, 5, 2);
    const none: LabelMatrix = {
      rows: 10,
      cols: 3,
      indptr: new Int32Array(11),
      indices: new Int32Array(0),
    };
    expect(() => createPartitioner("mincut").fit(x, none, { k: 2 })).toThrow(
      "labels must have at least one label, but all 10 rows are empty",
    );
    expect(createPartitioner("kmeans").fit(x, none, { k: 2 }).k).toBe(2);
  });
});
