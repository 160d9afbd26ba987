import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyMutations,
  type CaseOutcome,
  checkDataset,
  checkResultFile,
  DATASET_SEEDS,
  describeError,
  type Mutation,
  mutations,
  RESULT_SEEDS,
  runCase,
  textMutation,
} from "./fuzz.testing.js";
import { readDataset } from "./node/read-dataset.js";
import { readResultFile } from "./node/result-file.js";
import { DatasetParser, parseDataset } from "./parser.js";
import { parseResultFile, ResultFileParser } from "./result-file.js";

// Property tests: valid files, mutated (bit flips, truncation, huge numbers,
// format tokens, random bytes, inserted and deleted bytes), are either
// accepted with every invariant intact or refused with an AnnexmlError; each
// case stays within a time and memory bound. The longer campaign is
// `scripts/fuzz.ts`.

const RUNS = 300;
/** Per case: far above the microseconds a case of a few hundred bytes takes. */
const MAX_CASE_MS = 1000;
/** Per case: the inputs are below 1 KB, so anything near this is amplification. */
const MAX_CASE_BYTES = 32 << 20;

const encoder = new TextEncoder();
const DATASETS = DATASET_SEEDS.map((s) => encoder.encode(s));
const RESULTS = RESULT_SEEDS.map((s) => encoder.encode(s));

function expectBounded(outcome: CaseOutcome, input: Uint8Array): void {
  if (outcome.result === "bug") {
    throw new Error(
      `not an AnnexmlError for ${JSON.stringify(new TextDecoder().decode(input))}: ${describeError(outcome.error)}`,
    );
  }
  expect(outcome.milliseconds).toBeLessThan(MAX_CASE_MS);
  expect(outcome.arrayBufferBytes).toBeLessThan(MAX_CASE_BYTES);
}

const seedIndex = (n: number) => fc.nat(n - 1);
const splits = fc.array(fc.nat(), { maxLength: 4 });

/** Feeds `bytes` to a fresh parser in pieces cut at `cuts` (modulo the length). */
function pushInPieces(
  parser: { push(chunk: Uint8Array): void },
  bytes: Uint8Array,
  cuts: number[],
): void {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const p of points) {
    parser.push(bytes.subarray(from, p));
    from = p;
  }
  parser.push(bytes.subarray(from));
}

describe("fuzz: dataset text", () => {
  it("a mutated file is parsed to a valid dataset or refused with an AnnexmlError", async () => {
    await fc.assert(
      fc.asyncProperty(
        seedIndex(DATASETS.length),
        mutations(textMutation()),
        fc.boolean(),
        async (seed, list: Mutation[], checkHeader) => {
          const input = applyMutations(DATASETS[seed], list);
          const outcome = await runCase(() => parseDataset(input, { checkHeader }), checkDataset);
          expectBounded(outcome, input);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("parses a mutated file the same in any chunking (or fails the same way)", () => {
    fc.assert(
      fc.property(
        seedIndex(DATASETS.length),
        mutations(textMutation()),
        splits,
        (seed, list, cuts) => {
          const input = applyMutations(DATASETS[seed], list);
          const whole = settle(() => parseDataset(input));
          const pieces = settle(() => {
            const parser = new DatasetParser();
            pushInPieces(parser, input, cuts);
            return parser.finish();
          });
          expect(pieces).toEqual(whole);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a header that declares 2^31-1 or 2^32-1 rows, features or labels is refused or allocates nothing for it", async () => {
    for (const header of [
      "2147483647 3 3",
      "3 2147483647 3",
      "3 3 4294967295",
      "4294967295 4294967295 4294967295",
      // Below 2^31, but far more rows than the file holds: nothing preallocated for them.
      "9007199 3 3",
      "16777215 3 3",
    ]) {
      const input = encoder.encode(`${header}\n1 0:1\n2 1:1\n0 2:1\n`);
      const outcome = await runCase(
        () => parseDataset(input, { checkHeader: false }),
        checkDataset,
      );
      expectBounded(outcome, input);
    }
  });
});

describe("fuzz: result files", () => {
  it("a mutated file is parsed to a valid result or refused with an AnnexmlError", async () => {
    await fc.assert(
      fc.asyncProperty(seedIndex(RESULTS.length), mutations(textMutation()), async (seed, list) => {
        const input = applyMutations(RESULTS[seed], list);
        const outcome = await runCase(() => parseResultFile(input), checkResultFile);
        expectBounded(outcome, input);
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses a small file whose padding to the longest line would cost gigabytes", () => {
    // 200,000 empty rows and one of 100 predictions: 2e7 padded entries from 200 KB.
    const longest = Array.from({ length: 100 }, (_, i) => `${i}:1.0`).join(",");
    const input = encoder.encode(`${"\n".repeat(200_000)}0\t${longest}\n`);
    const outcome = runCase(() => parseResultFile(input));
    return outcome.then((o) => {
      expect(o.result).toBe("refused");
      expect((o.error as { code: string }).code).toBe("TOO_LARGE");
      expect(o.arrayBufferBytes).toBeLessThan(MAX_CASE_BYTES);
    });
  });

  it("parses a mutated file the same in any chunking", () => {
    fc.assert(
      fc.property(
        seedIndex(RESULTS.length),
        mutations(textMutation()),
        splits,
        (seed, list, cuts) => {
          const input = applyMutations(RESULTS[seed], list);
          const whole = settle(() => parseResultFile(input));
          const pieces = settle(() => {
            const parser = new ResultFileParser();
            pushInPieces(parser, input, cuts);
            return parser.finish();
          });
          expect(pieces).toEqual(whole);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("fuzz: file readers (plain and gzip)", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "annexml-fuzz-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a mutated file, or a mutated gzip of it, is read or refused with an AnnexmlError", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        seedIndex(DATASETS.length),
        mutations(textMutation()),
        fc.constantFrom("plain", "gzip", "corrupt-gzip"),
        mutations(textMutation()),
        async (seed, list, kind, gzipList) => {
          let bytes = applyMutations(DATASETS[seed], list);
          if (kind !== "plain") bytes = gzipSync(bytes);
          if (kind === "corrupt-gzip") bytes = applyMutations(bytes, gzipList);
          const path = join(dir, `case-${n++}`);
          await writeFile(path, bytes);
          const data = await runCase(() => readDataset(path), checkDataset);
          expectBounded(data, bytes);
          const result = await runCase(() => readResultFile(path), checkResultFile);
          expectBounded(result, bytes);
          await rm(path);
        },
      ),
      { numRuns: 100 },
    );
  });
});

/** The value, or the error's class, code and message: for comparing two runs. */
function settle(run: () => unknown): unknown {
  try {
    return { ok: run() };
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string };
    return { name: e.name, code: e.code, message: e.message };
  }
}
