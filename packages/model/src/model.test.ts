import { readFileSync } from "node:fs";
import {
  AnnexmlError,
  createSharedWasmMemory,
  normalizeRows,
  parseDataset,
  parseResultFile,
} from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import {
  AnnexmlModel,
  crc32,
  encodeContainer,
  labelNamesFromArrays,
  labelNamesFromList,
  parseContainer,
  type SectionSpec,
} from "./index.js";

// A model the CLI trained (fixtures/make.sh: 1000 bibtex rows, 2 learners x
// 2 partitions, f16 storage) and the CLI's predictions of 100 test rows.
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const FILE = new Uint8Array(readFileSync(fixture("bibtex-1000.model")));
const TEST = parseDataset(readFileSync(fixture("test-100.txt")), { source: "test-100.txt" });
const EXPECTED = parseResultFile(readFileSync(fixture("result-100.txt")), "result-100.txt");

/** The model's top 10 equal the CLI's result file (padded with -1 to its widest row). */
function expectPredictionsOfCli(model: AnnexmlModel): void {
  const got = model.predict(TEST.features, { k: 10 });
  const { k, ids, scores } = EXPECTED.predictions;
  expect(EXPECTED.predictions.rows).toBe(TEST.features.rows);
  for (let r = 0; r < TEST.features.rows; r++) {
    expect(got.ids.subarray(r * 10, r * 10 + k), `row ${r}`).toEqual(
      ids.subarray(r * k, (r + 1) * k),
    );
    for (let j = 0; j < k; j++) {
      if (ids[r * k + j] >= 0) expect(got.scores[r * 10 + j]).toBe(scores[r * k + j]);
    }
    for (let j = k; j < 10; j++) expect(got.ids[r * 10 + j]).toBe(-1);
  }
}

/** Byte equality (vitest's deep equality is slow on megabytes). */
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe("AnnexmlModel from bytes", () => {
  it("predicts exactly what the CLI predicted from the same file", () => {
    const model = AnnexmlModel.fromBytes(FILE.slice());
    expect(model.numLearners).toBe(2);
    expect(model.compact).toBe("f16");
    expectPredictionsOfCli(model);
  });

  it("takes an ArrayBuffer, a SharedArrayBuffer view or an unaligned view alike", () => {
    expectPredictionsOfCli(AnnexmlModel.fromBytes(FILE.slice().buffer));
    const shared = new Uint8Array(new SharedArrayBuffer(FILE.length));
    shared.set(FILE);
    expectPredictionsOfCli(AnnexmlModel.fromBytes(shared));
    const unaligned = new Uint8Array(FILE.length + 3);
    unaligned.set(FILE, 3);
    expectPredictionsOfCli(AnnexmlModel.fromBytes(unaligned.subarray(3)));
  });

  it("read into a shared WebAssembly memory: one copy of the vectors and graphs, the same predictions", () => {
    const plain = AnnexmlModel.fromBytes(FILE.slice()).toBytes({ compact: "none" });
    const into = (bytes: Uint8Array) => {
      const memory = createSharedWasmMemory(bytes.length);
      if (memory === null) throw new Error("no shared WebAssembly memory on Node?");
      const view = new Uint8Array(memory.buffer, 0, bytes.length);
      view.set(bytes);
      return AnnexmlModel.fromBytes(view, { memory });
    };
    const model = into(plain);
    const memory = model.modelMemory();
    expect(memory?.resident).toEqual([
      [true, true],
      [true, true],
    ]);
    expectPredictionsOfCli(model);
    // Two predictors (two threads' worth) over the one memory, each with its
    // own scratch there, predict the same, bit for bit.
    const features = normalizeRows({ ...TEST.features, values: TEST.features.values.slice() });
    const results = [model.predictor({ k: 10 }), model.predictor({ k: 10 }, memory)].map((p) => {
      const out = { rows: 100, k: 10, ids: new Int32Array(1000), scores: new Float32Array(1000) };
      p.predictInto(features, out);
      return out;
    });
    expect(results[1]).toEqual(results[0]);
    expect(results[0]).toEqual(AnnexmlModel.fromBytes(plain).predict(TEST.features, { k: 10 }));
    // Laid out in leaf order where they are: the same predictions again,
    // but the model can no longer be saved nor searched by brute force.
    const rows = model.learners[0].parts[0].rows;
    const before = model.learners[0].parts[0].embedding.embeddings.slice();
    model.layOutForSearch();
    expect(model.modelMemory()?.leafOrdered).toBe(true);
    const leaf = model.learners[0].parts[0].index.leafRows;
    const stride = model.learners[0].parts[0].embedding.stride;
    expect(model.learners[0].parts[0].embedding.embeddings.subarray(0, stride)).toEqual(
      before.subarray(leaf[0] * stride, (leaf[0] + 1) * stride),
    );
    expect(model.learners[0].parts[0].rows).toBe(rows);
    const laidOut = model.predictor({ k: 10 });
    const out = { rows: 100, k: 10, ids: new Int32Array(1000), scores: new Float32Array(1000) };
    laidOut.predictInto(features, out);
    expect(out).toEqual(results[0]);
    expect(() => model.toBytes()).toThrow(/laid out for graph search .* cannot be saved/);
    expect(() => model.predictor({ search: "bruteForce" })).toThrow(/cannot search by brute force/);
    // A compact model's arrays are decoded copies: nothing resident, same predictions.
    const compact = into(FILE);
    expect(compact.modelMemory()?.resident).toEqual([
      [false, false],
      [false, false],
    ]);
    expectPredictionsOfCli(compact);
    expect(AnnexmlModel.fromBytes(plain).modelMemory()).toBeNull();
  });

  it("writes bytes that read back to the same predictions, the same bytes each time", () => {
    const model = AnnexmlModel.fromBytes(FILE.slice());
    const plain = model.toBytes({ compact: "none" });
    expect(plain.length).toBeGreaterThan(FILE.length); // float32 weights
    expect(sameBytes(model.toBytes({ compact: "none" }), plain)).toBe(true);
    const back = AnnexmlModel.fromBytes(plain);
    expect(back.compact).toBe("none");
    expectPredictionsOfCli(back);
    expect(sameBytes(back.toBytes(), plain)).toBe(true);
    // The portable CRC-32 is the one the file was written with (zlib's in the CLI).
    expect(parseContainer(FILE.slice(), "fixture", crc32).fileBytes).toBe(FILE.length);
  });

  it("refuses a flipped bit anywhere (a sample of positions), truncation and foreign bytes", () => {
    let state = 12345;
    const positions = new Set<number>([0, 8, 12, 63, FILE.length - 1, FILE.length - 32]);
    while (positions.size < 400) {
      state = (state * 1103515245 + 12345) >>> 0;
      positions.add(state % FILE.length);
    }
    for (const at of positions) {
      const bytes = FILE.slice();
      bytes[at] ^= 0x10;
      expect(() => AnnexmlModel.fromBytes(bytes), `byte ${at}`).toThrow(AnnexmlError);
    }
    for (const length of [0, 11, 64, FILE.length >> 1, FILE.length - 1]) {
      expect(() => AnnexmlModel.fromBytes(FILE.slice(0, length))).toThrow(
        /truncated|not an annexml/,
      );
    }
    expect(() => AnnexmlModel.fromBytes(new TextEncoder().encode("16 1:1\n"))).toThrow(
      /not an annexml model/,
    );
    // Not bytes at all (a number would make `new Uint8Array` zeros).
    for (const notBytes of [4096, [0x89, 0x41], "model"]) {
      expect(() => AnnexmlModel.fromBytes(notBytes as never)).toThrow(
        expect.objectContaining({ code: "BAD_OPTION" }),
      );
    }
    try {
      AnnexmlModel.fromBytes(FILE.slice(0, 100), { source: "https://example.org/m.model" });
    } catch (error) {
      expect(error).toMatchObject({ code: "BAD_FORMAT", file: "https://example.org/m.model" });
    }
  });
});

describe("label names", () => {
  const base = AnnexmlModel.fromBytes(FILE.slice());
  const names = Array.from({ length: base.trainLabels.cols }, (_, i) => `tag ${i} é`);
  const named = new AnnexmlModel(
    base.info,
    base.trainLabels,
    base.learners,
    base.ids,
    labelNamesFromList(names),
  );

  it("come with predictRow's labels and survive the bytes", () => {
    const { indptr, indices, values } = TEST.features;
    const back = AnnexmlModel.fromBytes(named.toBytes());
    const predictor = back.predictor({ k: 4 });
    for (let r = 0; r < 20; r++) {
      const row = predictor.predictRow(
        indices.subarray(indptr[r], indptr[r + 1]),
        values.subarray(indptr[r], indptr[r + 1]),
      );
      expect(row.names).toEqual(Array.from(row.labels, (l) => names[l]));
    }
    expect(back.labelName(3)).toBe("tag 3 é");
    // A model without names answers without them.
    expect(base.predictor().predictRow([1], [1]).names).toBeUndefined();
  });

  it("must be one per label and well-formed", () => {
    expect(
      () =>
        new AnnexmlModel(
          base.info,
          base.trainLabels,
          base.learners,
          base.ids,
          labelNamesFromList(names.slice(1)),
        ),
    ).toThrow(/158 label names for a model of 159 labels/);
    expect(() => labelNamesFromList(["a", ""])).toThrow(/label name 1: the name is empty/);
    expect(() => labelNamesFromList(["a\nb"])).toThrow(/U\+000A/);
    const good = labelNamesFromList(["é", "b"]).toArrays();
    const cases: [Uint8Array, Int32Array, RegExp][] = [
      [good.bytes, Int32Array.of(0, 2), /1 label names for 2 labels/],
      [good.bytes, Int32Array.of(0, 3, 2), /offsets decrease at 0|do not span/],
      [good.bytes, Int32Array.of(0, 1, 3), /label name 0 is not valid UTF-8/],
      [good.bytes, Int32Array.of(0, 2, 4), /do not span/],
    ];
    for (const [bytes, offsets, message] of cases) {
      expect(() => labelNamesFromArrays({ bytes, offsets }, 2)).toThrow(message);
    }
    // A crafted file with bad names (valid CRCs) is refused as a whole.
    const { meta, sections } = named.encode();
    const crafted = sections.map(
      ([name, array]): SectionSpec =>
        name === "m.labelNames.offsets"
          ? [name, Int32Array.from(array as Int32Array).reverse()]
          : [name, array],
    );
    expect(() => AnnexmlModel.fromBytes(encodeContainer(meta, crafted))).toThrow(
      /inconsistent model: label name offsets/,
    );
  });
});
