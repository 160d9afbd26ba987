import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnnexmlError, type CsrMatrix } from "@annexml/sparse-io";
import { beforeAll, describe, expect, it } from "vitest";
import { readModelFile, saveModel } from "../model/files.js";
import { axis, type CppModelSpec, writeCppModel } from "./cpp-writer.testing.js";
import { importCppModel, importCppModelFrom, memorySource, readCppModel } from "./index.js";

const FIXTURE = new URL("../../fixtures/cpp-bibtex-2learners/model.bin", import.meta.url).pathname;
const TRAIN = new URL("../../../../data/bibtex/train.txt", import.meta.url).pathname;

const D = 4;
const U = [0.1, 0.2, 0.3, 0.9]; // the untrained feature-0 row (nearest to axis 3)
/**
 * Four training rows whose embeddings are the four axes; learner 0 has one
 * partition whose projection rows are: the untrained feature-0 row (along
 * U), feature 0's trained row (axis 2), feature 1 (axis 0), feature 5 (axis 1).
 * Learner 1 has two partitions and an unsorted partitioner.
 */
function spec(): CppModelSpec {
  const embeddings = [axis(D, 0), axis(D, 1), axis(D, 3), axis(D, 2)];
  return {
    embSize: D,
    numNn: 1,
    numEdge: 2,
    trainFile: "some/dir/train.txt",
    labels: [[2, 1, 2], [0], [1, 3], [4]],
    learners: [
      {
        k: 1,
        partitioner: [],
        projections: [
          [
            [0, U],
            [0, axis(D, 2)],
            [1, axis(D, 0)],
            [5, axis(D, 1)],
          ],
        ],
        embeddings,
        members: [[0, 1, 2, 3]],
      },
      {
        k: 2,
        partitioner: [
          [
            [1, 0.5],
            [0, 0.25],
            [1, 0.25],
          ],
          [[0, 0]],
          [[1, -1]],
        ],
        projections: [
          [
            [0, U],
            [1, axis(D, 0)],
          ],
          [
            [0, U],
            [5, axis(D, 1)],
          ],
        ],
        embeddings,
        members: [
          [1, 3],
          [0, 2],
        ],
      },
    ],
  };
}

function row(indices: number[]): CsrMatrix {
  return {
    rows: 1,
    cols: 10,
    indptr: Int32Array.of(0, indices.length),
    indices: Int32Array.from(indices),
    values: new Float32Array(indices.length).fill(1),
  };
}

async function refusal(bytes: Uint8Array, name = "model.bin"): Promise<AnnexmlError> {
  try {
    await readCppModel(memorySource(bytes, name));
  } catch (error) {
    expect(error).toBeInstanceOf(AnnexmlError);
    return error as AnnexmlError;
  }
  throw new Error("the model was not refused");
}

describe("readCppModel: conversion", () => {
  it("converts label sets, partitioners, projection rows and member embeddings", async () => {
    const m = await readCppModel(memorySource(writeCppModel(spec())));
    expect(m.params).toMatchObject({
      emb_size: D,
      num_nn: 1,
      num_edge: 2,
      train_file: "some/dir/train.txt",
    });
    expect(m.params.eta0).toBe(Math.fround(0.1));
    // Labels sorted, repeats removed.
    expect(Array.from(m.trainLabels.indptr)).toEqual([0, 2, 3, 5, 6]);
    expect(Array.from(m.trainLabels.indices)).toEqual([1, 2, 0, 1, 3, 4]);
    expect(m.trainLabels.cols).toBe(5);
    expect(m.stats.duplicateLabels).toBe(1);
    // Learner 1: entries sorted by partition, repeats summed, zeros dropped.
    const p = m.learners[1].partition;
    expect(p).toMatchObject({ k: 2, numFeatures: 3 });
    expect(Array.from(p.featurePtr)).toEqual([0, 2, 2, 3]);
    expect(Array.from(p.partitions)).toEqual([0, 1, 1]);
    expect(Array.from(p.weights)).toEqual([0.25, 0.75, -1]);
    expect(m.stats).toMatchObject({
      mergedPartitionEntries: 1,
      zeroPartitionWeights: 1,
      partitions: 3,
    });
    // Members ascending, their stored embeddings gathered in that order, stride-padded.
    const [p0, p1] = m.learners[1].parts;
    expect(Array.from(p0.rows)).toEqual([1, 3]);
    expect(Array.from(p1.rows)).toEqual([0, 2]);
    expect(p0.embedding.stride).toBe(4);
    expect(Array.from(p0.embedding.embeddings)).toEqual([...axis(D, 1), ...axis(D, 2)]);
    expect(Array.from(p1.embedding.embeddings)).toEqual([...axis(D, 0), ...axis(D, 3)]);
    expect(Array.from(p1.embedding.featureIds)).toEqual([0, 5]);
    expect(m.numFeatures).toBe(6);
  });

  it("feature0=original keeps the untrained feature-0 row; trained keeps the trained one", async () => {
    const bytes = writeCppModel(spec());
    const original = await readCppModel(memorySource(bytes));
    const e = original.learners[0].parts[0].embedding;
    expect(Array.from(e.featureIds)).toEqual([0, 1, 5]);
    expect(Array.from(e.weights.subarray(0, 4))).toEqual(U.map(Math.fround));
    expect(original.stats).toMatchObject({
      untrainedFeature0Rows: 3,
      trainedFeature0Rows: 1,
      droppedProjectionRows: 1,
    });

    const trained = await readCppModel(memorySource(bytes), { feature0: "trained" });
    const t = trained.learners[0].parts[0].embedding;
    expect(Array.from(t.featureIds)).toEqual([0, 1, 5]);
    expect(Array.from(t.weights.subarray(0, 4))).toEqual(axis(D, 2));
    // Partitions without a trained feature-0 row lose feature 0 altogether.
    expect(Array.from(trained.learners[1].parts[0].embedding.featureIds)).toEqual([1]);
    expect(trained.stats.droppedProjectionRows).toBe(3);
  });

  it("predicts with the original's lookup: feature 0 -> the untrained row, unknown features ignored", async () => {
    const bytes = writeCppModel({ ...spec(), learners: [spec().learners[0]] });
    const original = await importCppModelFrom(memorySource(bytes));
    const trained = await importCppModelFrom(memorySource(bytes), { feature0: "trained" });
    for (const search of ["bruteForce", "graph"] as const) {
      // Feature 0 alone: along U (nearest training row 2, labels 1 and 3) with the
      // original's lookup, along axis 2 (row 3, label 4) with the trained row.
      expect(Array.from(original.predict(row([0]), { search, k: 2 }).ids)).toEqual([1, 3]);
      expect(Array.from(trained.predict(row([0]), { search, k: 2 }).ids)).toEqual([4, -1]);
      // Feature 7 has no projection row: ignored, so [1, 7] predicts like [1] (row 0: labels 1, 2).
      expect(Array.from(original.predict(row([1, 7]), { search, k: 2 }).ids)).toEqual([1, 2]);
      expect(Array.from(trained.predict(row([1, 7]), { search, k: 2 }).ids)).toEqual([1, 2]);
    }
    expect(original.info.origin).toBe("annexml-cpp");
    expect(original.info.notes?.[1]).toMatch(/^feature0=original: .*untrained/);
    expect(trained.info.notes?.[1]).toMatch(/^feature0=trained: /);
    expect(original.info.params).toMatchObject({
      num_learner: 1,
      num_nn: 1,
      num_edge: 2,
      eta0: 0.1,
      seed: 0,
    });
    expect(original.info.data).toMatchObject({
      file: "train.txt",
      rows: 4,
      features: 6,
      labels: 5,
      nnz: 0,
    });
  });

  it("stores NaN embeddings (the original's 0/0) as zero rows and says so", async () => {
    const s = spec();
    // Both learners share the training rows' embeddings: row 2 is NaN in each.
    s.learners[0].embeddings[2] = [Number.NaN, Number.NaN, Number.NaN, Number.NaN];
    const model = await importCppModelFrom(memorySource(writeCppModel(s)));
    const e = model.learners[0].parts[0].embedding.embeddings;
    expect(Array.from(e.subarray(8, 12))).toEqual([0, 0, 0, 0]);
    expect(model.info.notes?.join("\n")).toMatch(/2 training rows had a NaN embedding/);
  });

  it("reads the bundled 2-learner bibtex model", async () => {
    const m = await readCppModel(memorySource(await readFile(FIXTURE), "model.bin"));
    expect(m.trainLabels.rows).toBe(4880);
    expect(m.trainLabels.cols).toBe(159);
    expect(m.learners).toHaveLength(2);
    expect(m.numFeatures).toBe(1836);
    for (const l of m.learners) {
      expect(l.partition).toMatchObject({ k: 1, numFeatures: 0 });
      expect(l.parts[0].rows).toHaveLength(4880);
      // 1837 rows in the file: the untrained row plus 1836 features, feature 0's trained row dropped.
      expect(l.parts[0].embedding.featureIds).toHaveLength(1836);
    }
    expect(m.stats).toMatchObject({
      untrainedFeature0Rows: 2,
      trainedFeature0Rows: 2,
      nonFiniteEmbeddings: 0,
    });
  });
});

/** Offsets of fields of the bundled fixture (K = 1, F = 0 in both learners). */
function fixtureLayout(bytes: Uint8Array) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 64;
  for (let s = 0; s < 4; s++) p += 4 + v.getInt32(p, true);
  const labels = p;
  const n = Number(v.getBigUint64(p, true));
  p += 8;
  const firstLabelCount = p;
  for (let i = 0; i < n; i++) p += 8 + 4 * Number(v.getBigUint64(p, true));
  const learners = p;
  const learner0 = p + 8;
  const embSize0 = learner0 + 16;
  const rows0 = embSize0 + 8 + 8 + 8;
  const r = Number(v.getBigUint64(rows0, true));
  const row0 = rows0 + 8;
  const rowBytes = 4 + 8 + 4 * 50;
  const embeddings0 = row0 + r * rowBytes;
  const members0 = embeddings0 + 8 + n * (8 + 200);
  return {
    labels,
    firstLabelCount,
    learners,
    learner0,
    embSize0,
    rows0,
    row0,
    rowBytes,
    embeddings0,
    members0,
    n,
  };
}

function patched(bytes: Uint8Array, at: number, write: (v: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  write(new DataView(copy.buffer, at));
  return copy;
}

describe("readCppModel: refusals", () => {
  let fixture: Uint8Array;
  let layout: ReturnType<typeof fixtureLayout>;
  beforeAll(async () => {
    fixture = new Uint8Array(await readFile(FIXTURE));
    layout = fixtureLayout(fixture);
  });

  it("refuses the fixture truncated anywhere, naming the byte offset and field", async () => {
    const L = layout;
    const cuts = [
      1,
      10,
      63,
      64,
      100,
      L.labels + 3,
      L.firstLabelCount + 12,
      L.learners,
      L.learner0 + 9,
      L.embSize0 + 4,
      L.row0 + 5,
      L.row0 + L.rowBytes * 1000 + 20,
      L.embeddings0 + 8 + 208 * 4000 + 100,
      L.members0 + 16 + 8 * 100 + 3,
      fixture.length - 1,
    ];
    for (const cut of cuts) {
      const error = await refusal(fixture.subarray(0, cut));
      expect(error.code).toBe("BAD_FORMAT");
      expect(error.message).toMatch(/^model\.bin: byte \d+ \(.+\): /);
      expect(error.message).toMatch(/truncated/);
    }
  });

  it("refuses inconsistent sizes and corrupt lengths before allocating", async () => {
    const L = layout;
    const cases: [Uint8Array, RegExp][] = [
      [
        patched(fixture, L.labels, (v) => v.setBigUint64(0, 2n ** 40n, true)),
        /training label sets: row count N\): is 1099511627776, above the 2\^31 - 2 rows/,
      ],
      [
        patched(fixture, L.labels, (v) => v.setBigUint64(0, 2n ** 60n, true)),
        /u64 value 1152921504606846976 is above 2\^53/,
      ],
      [
        patched(fixture, L.labels, (v) => v.setBigUint64(0, 1_000_000n, true)),
        /declares 1000000 entries of at least 8 bytes/,
      ],
      [
        patched(fixture, L.firstLabelCount, (v) => v.setBigUint64(0, 2n ** 31n, true)),
        /byte 148 \(training label set of row 0: label count\): declares 2147483648 entries/,
      ],
      [
        patched(fixture, L.learners, (v) => v.setBigUint64(0, 0n, true)),
        /learner count\): is 0, expected 1\.\.1000/,
      ],
      [
        patched(fixture, L.learners, (v) => v.setBigUint64(0, 900n, true)),
        /byte 2972852 \(learner 2, partitioner: partition count K\): the file ends here/,
      ],
      [
        patched(fixture, L.learner0, (v) => v.setBigUint64(0, 2n, true)),
        /learner 0, embedding: partition count\): is 1, but the learner's partitioner has K = 2/,
      ],
      [
        patched(fixture, L.embSize0, (v) => v.setBigUint64(0, 64n, true)),
        /learner 0, embedding: emb_size\): is 64, but the parameters' emb_size is 50/,
      ],
      [
        patched(fixture, L.rows0, (v) => v.setBigUint64(0, 2n ** 40n, true)),
        /projection row count\): declares 1099511627776 entries of at least 212 bytes/,
      ],
      [
        patched(fixture, L.row0 + 4, (v) => v.setBigUint64(0, 49n, true)),
        /projection row 0: length d\): is 49, but emb_size is 50/,
      ],
      [
        patched(fixture, L.row0 + 3 * L.rowBytes, (v) => v.setInt32(0, 9, true)),
        /projection row 4: feature id\): feature ids out of order: 3 after 9/,
      ],
      [
        patched(fixture, L.row0 + 12, (v) => v.setFloat32(0, Number.NaN, true)),
        /projection row 0 \(feature 0\)\): holds NaN at dimension 0/,
      ],
      [
        patched(fixture, L.embeddings0, (v) => v.setBigUint64(0, 4879n, true)),
        /training row count\): is 4879, but there are 4880 training label sets/,
      ],
      [
        patched(fixture, L.embeddings0 + 8 + 8, (v) => v.setFloat32(0, 3, true)),
        /embedding of training row 0\): has norm/,
      ],
      [
        patched(fixture, L.members0 + 16, (v) => v.setBigUint64(0, 4880n, true)),
        /partition 0: member 0\): training row 4880 is out of range \[0, 4880\)/,
      ],
      [
        patched(fixture, L.members0 + 24, (v) => v.setBigUint64(0, 0n, true)),
        /member 1\): training row 0 after 0: members must ascend/,
      ],
      [
        patched(fixture, L.members0 + 8, (v) => v.setBigUint64(0, 4881n, true)),
        /member count\): is 4881, more than the 4880 training rows/,
      ],
      [Uint8Array.from([...fixture, 0]), /1 unexpected bytes after the last learner/],
    ];
    for (const [bytes, pattern] of cases) {
      const error = await refusal(bytes);
      expect(error.message).toMatch(/^model\.bin: byte \d+ /);
      expect(error.message).toMatch(pattern);
    }
  });

  it("refuses a member in two partitions, and out-of-range partitioner entries", async () => {
    const s = spec();
    s.learners[1].members = [
      [1, 3],
      [0, 3],
    ];
    expect((await refusal(writeCppModel(s))).message).toMatch(
      /learner 1, partition 1: member 1\): training row 3 is already in partition 0/,
    );
    const t = spec();
    t.learners[1].partitioner[2] = [[2, 1]];
    expect((await refusal(writeCppModel(t))).message).toMatch(
      /learner 1, partitioner: entry 0 of feature 2\): partition 2 is out of range \[0, 2\)/,
    );
    const u = spec();
    u.learners[0].projections[0][2][0] = -3;
    expect((await refusal(writeCppModel(u))).message).toMatch(/feature id\): is -3/);
  });

  it("refuses files that are not models of the original", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annexml-import-"));
    // Our own model.
    const model = await importCppModelFrom(memorySource(writeCppModel(spec())));
    const ours = join(dir, "ours.model");
    await saveModel(model, ours);
    await expect(importCppModel(ours)).rejects.toThrow(
      /byte 0 \(start\): this is a model of annexml \(TypeScript\)/,
    );
    expect((await readModelFile(ours)).model.info.origin).toBe("annexml-cpp");
    // A text file (the training data).
    await expect(importCppModel(TRAIN)).rejects.toThrow(
      /train\.txt: byte 0 \(parameter emb_size\): is 808990772, expected 1\.\.4096: not a model of the original AnnexML/,
    );
    // Gzip, tiny and empty files, a directory, a missing file.
    expect((await refusal(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3))).message).toMatch(
      /gzip-compressed/,
    );
    expect((await refusal(new Uint8Array(20))).message).toMatch(
      /the file has 20 bytes, but a model .* starts with 64 bytes/,
    );
    const empty = join(dir, "empty.bin");
    await writeFile(empty, "");
    await expect(importCppModel(empty)).rejects.toThrow(
      /empty\.bin: byte 0 \(parameter block\): the file has 0 bytes/,
    );
    await expect(importCppModel(dir)).rejects.toMatchObject({ code: "FILE_UNREADABLE" });
    await expect(importCppModel(join(dir, "missing.bin"))).rejects.toThrow(
      /missing\.bin: cannot open the model \(no such file\)/,
    );
    // A plausible parameter block with a corrupt path length.
    const bad = writeCppModel(spec());
    new DataView(bad.buffer).setInt32(64, 1 << 30, true);
    expect((await refusal(bad)).message).toMatch(
      /byte 64 \(parameter train_file: byte length\): is 1073741824/,
    );
  });
});

describe("importCppModel options", () => {
  it("rejects unknown and bad options with BAD_OPTION, naming the option and the valid values", async () => {
    const bytes = writeCppModel(spec());
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { numThread: 2 },
        /^unknown option 'numThread' of importCppModel; valid options: numThreads, feature0, reporter$/,
      ],
      [
        { numThreads: 0 },
        /^option 'numThreads' of importCppModel must be in \[1, 1024\], but is 0$/,
      ],
      [
        { numThreads: "2" },
        /^option 'numThreads' of importCppModel must be an integer, but is "2"$/,
      ],
      [
        { feature0: "random" },
        /^option 'feature0' of importCppModel must be "original" or "trained", but is "random"$/,
      ],
      [{ reporter: {} }, /^option 'reporter' of importCppModel must be a Reporter, but is object$/],
    ];
    for (const [options, message] of cases) {
      const error = await importCppModelFrom(memorySource(bytes), options as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AnnexmlError);
      expect(error).toMatchObject({ code: "BAD_OPTION" });
      expect((error as Error).message).toMatch(message);
    }
    // Valid options: two threads build the same graphs as one.
    const one = await importCppModelFrom(memorySource(bytes), { numThreads: 1 });
    const two = await importCppModelFrom(memorySource(bytes), {
      numThreads: 2,
      feature0: undefined,
    });
    expect(two.learners).toEqual(one.learners);
    expect(one.info.params).toMatchObject({ anchor_step: 0, cluster_size: 6000 });
  });
});
