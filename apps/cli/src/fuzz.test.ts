import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyMutations,
  binaryMutation,
  type CaseOutcome,
  describeError,
  mutations,
  runCase,
} from "../../../packages/sparse-io/src/fuzz.testing.js";
import { checkModel, cppSeedModel, modelFileCase, ourSeedModel } from "./fuzz.testing.js";
import { axis, writeCppModel } from "./import/cpp-writer.testing.js";
import { importCppModelFrom, memorySource, readCppModel } from "./import/index.js";

// Property tests: model files (ours and the original C++ AnnexML's), mutated
// with bit flips, truncation, huge counts (2^31-1, 2^32-1, 2^53 ... written
// over 4 or 8 bytes), random, inserted and deleted bytes, either load and
// predict sanely or are refused with an AnnexmlError, within a time and
// memory bound per case. The longer campaign is `scripts/fuzz.ts`.

const MAX_CASE_MS = 5000;
const MAX_CASE_BYTES = 64 << 20;

function expectBounded(outcome: CaseOutcome, what: string): void {
  if (outcome.result === "bug") {
    throw new Error(`${what}: not an AnnexmlError: ${describeError(outcome.error)}`);
  }
  expect(outcome.milliseconds).toBeLessThan(MAX_CASE_MS);
  expect(outcome.arrayBufferBytes).toBeLessThan(MAX_CASE_BYTES);
}

describe("fuzz: models of the original C++ AnnexML", () => {
  const seed = cppSeedModel();

  const pristine = seed.slice();

  it("the seed model imports", async () => {
    const model = await importCppModelFrom(memorySource(seed));
    expect(checkModel(model).ids[0]).toBeGreaterThanOrEqual(0);
  });

  it("a mutated model is read or refused with an AnnexmlError", async () => {
    await fc.assert(
      fc.asyncProperty(mutations(binaryMutation()), async (list) => {
        const bytes = applyMutations(seed, list);
        const outcome = await runCase(() => readCppModel(memorySource(bytes, "model.bin")));
        expectBounded(outcome, JSON.stringify(list));
      }),
      { numRuns: 300 },
    );
  });

  it("a mutated model that reads also imports and predicts sanely", async () => {
    await fc.assert(
      fc.asyncProperty(mutations(binaryMutation()), async (list) => {
        const bytes = applyMutations(seed, list);
        const outcome = await runCase(
          () => importCppModelFrom(memorySource(bytes, "model.bin")),
          checkModel,
        );
        expectBounded(outcome, JSON.stringify(list));
      }),
      { numRuns: 150 },
    );
    // The mutations worked on copies.
    expect(seed).toEqual(pristine);
  });
});

describe("regressions found by the fuzz campaign", () => {
  it("an embedding a little off unit length is refused by the reader, not by the graph builder", async () => {
    const bytes = writeCppModel({
      embSize: 2,
      labels: [[0], [1]],
      learners: [
        {
          k: 1,
          partitioner: [],
          projections: [[[0, [1, 0]]]],
          embeddings: [
            [1.0005, 0],
            [0, 1],
          ],
          members: [[0, 1]],
        },
      ],
    });
    const outcome = await runCase(() => importCppModelFrom(memorySource(bytes, "model.bin")));
    expect(outcome.result).toBe("refused");
    expect(String(outcome.error)).toMatch(/embedding of training row 0.*norm 1\.000/);
  });
});

describe("huge ids in a model of the original", () => {
  it("a label id of 2^31-1 costs memory for the labels used, and predicts with its own id", async () => {
    const d = 4;
    const embeddings = [axis(d, 0), axis(d, 1), axis(d, 2), axis(d, 3)];
    const bytes = writeCppModel({
      embSize: d,
      numNn: 4,
      numEdge: 2,
      labels: [[2147483647], [0], [7, 2147483647], [5]],
      learners: [
        {
          k: 1,
          partitioner: [],
          projections: [
            [
              [0, axis(d, 0)],
              [1, axis(d, 1)],
              [2, axis(d, 2)],
            ],
          ],
          embeddings,
          members: [[0, 1, 2, 3]],
        },
      ],
    });
    const outcome = await runCase(
      () => importCppModelFrom(memorySource(bytes, "model.bin")),
      (model) => {
        const out = model.predict(
          {
            rows: 1,
            cols: 1,
            indptr: Int32Array.of(0, 1),
            indices: Int32Array.of(0),
            values: Float32Array.of(1),
          },
          { k: 4 },
        );
        expect([...out.ids].sort((a, b) => a - b)).toEqual([0, 5, 7, 2147483647]);
        expect(model.info.data.labels).toBe(2 ** 31);
      },
    );
    expectBounded(outcome, "label 2^31-1");
  });
});

describe("fuzz: our model files", () => {
  let dir = "";
  let seed: Uint8Array = new Uint8Array(0);
  let loadBytes: (bytes: Uint8Array) => Promise<CaseOutcome>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "annexml-fuzz-model-"));
    seed = await ourSeedModel();
    loadBytes = modelFileCase(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("the seed model loads and predicts", async () => {
    expect((await loadBytes(seed)).result).toBe("ok");
  });

  it("a mutated model loads and predicts sanely, or is refused with an AnnexmlError", async () => {
    await fc.assert(
      fc.asyncProperty(mutations(binaryMutation()), async (list) => {
        const outcome = await loadBytes(applyMutations(seed, list));
        expectBounded(outcome, JSON.stringify(list));
      }),
      { numRuns: 200 },
    );
  });

  it("4 bytes overwritten right after the header CRC (bytes 20..23) are refused", async () => {
    for (const value of [0x00000000, 0xffffffff, 0x01020304]) {
      const bytes = seed.slice();
      new DataView(bytes.buffer).setUint32(20, value ^ 0xa5a5a5a5, true);
      const outcome = await loadBytes(bytes);
      expect(outcome.result).toBe("refused");
    }
  });

  it("a mutated preamble (the first 64 bytes) is refused", async () => {
    // Every preamble byte is magic, version, a length, a CRC or reserved:
    // changing any of them must be noticed (reserved bytes must be zero).
    const failures: string[] = [];
    for (let at = 0; at < 64; at++) {
      const bytes = seed.slice();
      bytes[at] ^= 0x5a;
      const outcome = await loadBytes(bytes);
      if (outcome.result !== "refused") failures.push(`byte ${at}: ${outcome.result}`);
    }
    expect(failures).toEqual([]);
  });
});
