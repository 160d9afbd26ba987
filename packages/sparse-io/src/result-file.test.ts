import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnnexmlError } from "./errors.js";
import { readResultFile, writeResultFile } from "./node/result-file.js";
import {
  formatResultChunks,
  formatResultLine,
  parseResultFile,
  ResultFileParser,
  validateFormatResultOptions,
} from "./result-file.js";
import type { KnnResult, LabelMatrix } from "./types.js";

const BIBTEX_RESULT = fileURLToPath(
  new URL("../../eval/fixtures/bibtex/result-graph.txt", import.meta.url),
);

function labels(rows: number[][]): LabelMatrix {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((row, r) => {
    indptr[r + 1] = indptr[r] + row.length;
  });
  return {
    rows: rows.length,
    cols: Math.max(0, ...rows.flat()) + 1,
    indptr,
    indices: Int32Array.from(rows.flat()),
  };
}

function knn(rows: [number, number][][], k: number): KnnResult {
  const ids = new Int32Array(rows.length * k).fill(-1);
  const scores = new Float32Array(rows.length * k).fill(Number.NaN);
  rows.forEach((row, r) => {
    row.forEach(([id, score], j) => {
      ids[r * k + j] = id;
      scores[r * k + j] = score;
    });
  });
  return { rows: rows.length, k, ids, scores };
}

function catchError(fn: () => unknown): AnnexmlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AnnexmlError) return err;
    throw err;
  }
  throw new Error("expected an AnnexmlError");
}

describe("formatResultLine", () => {
  it("writes truth, a TAB and label:score pairs with one decimal", () => {
    expect(formatResultLine([16, 27, 77], [77, 27], [112, 52])).toBe("16,27,77\t77:112.0,27:52.0");
  });

  it("writes a leading TAB for empty truth and nothing after it for no predictions", () => {
    expect(formatResultLine([], [5], [1.5])).toBe("\t5:1.5");
    expect(formatResultLine([3], [], [])).toBe("3\t");
    expect(formatResultLine([], [], [])).toBe("\t");
  });

  it("stops at the first id -1 and at count", () => {
    expect(formatResultLine([1], [4, -1, 6], [2, 0, 1])).toBe("1\t4:2.0");
    expect(formatResultLine([1], [4, 5, 6], [3, 2, 1], 2)).toBe("1\t4:3.0,5:2.0");
  });

  it("rounds like C printf %.1f: exact ties to even, everything else to nearest", () => {
    const line = formatResultLine(
      [],
      [0, 1, 2, 3, 4, 5, 6],
      [0.25, 0.75, 1.25, 2.5, 0.05, -0.25, 1e21],
    );
    // 0.05 is a little above 1/20 in binary, so it is not a tie and rounds up.
    expect(line).toBe("\t0:0.2,1:0.8,2:1.2,3:2.5,4:0.1,5:-0.2,6:1000000000000000000000.0");
    expect(formatResultLine([], [0, 1], [Math.fround(0.1), -0])).toBe("\t0:0.1,1:-0.0");
  });

  it("writes more decimals when asked (fractional scores), and checks the count", () => {
    expect(formatResultLine([2], [7, 3], [1.23456789, 0.5], 2, 6)).toBe("2\t7:1.234568,3:0.500000");
    expect(formatResultLine([], [1], [-0.25], 1, 3)).toBe("\t1:-0.250");
    expect(formatResultLine([], [1], [1e21], 1, 2)).toBe("\t1:1000000000000000000000.00");
    for (const digits of [0, 10, 1.5]) {
      expect(() => formatResultLine([], [1], [1], 1, digits)).toThrow(
        expect.objectContaining({ code: "BAD_OPTION" }),
      );
    }
  });

  it("refuses non-finite scores", () => {
    expect(() => formatResultLine([], [3], [Number.NaN])).toThrow(
      expect.objectContaining({
        code: "BAD_INPUT",
        message: "the score of label 3 (entry 0) must be finite, but is NaN",
      }),
    );
  });
});

describe("formatResultChunks", () => {
  const truth = labels([[1, 2], [], [7]]);
  const predictions = knn([[[2, 3]], [[5, 1.5]], []], 2);

  it("writes one line per prediction row in chunks of whole lines", () => {
    const chunks = [...formatResultChunks(truth, predictions, { rowsPerChunk: 2 })];
    expect(chunks).toEqual(["1,2\t2:3.0\n\t5:1.5\n", "7\t\n"]);
  });

  it("pairs a batch with the truth rows from truthRowOffset", () => {
    const batch = knn([[[9, 4]]], 1);
    expect([...formatResultChunks(truth, batch, { truthRowOffset: 2 })]).toEqual(["7\t9:4.0\n"]);
    expect(() => [...formatResultChunks(truth, batch, { truthRowOffset: 3 })]).toThrow(
      "truth must have at least truthRowOffset + predictions.rows = 4 rows, but has 3",
    );
  });

  it("validates its options", () => {
    expect(() => validateFormatResultOptions({ rowsPerChunk: 0 })).toThrow(
      expect.objectContaining({
        code: "BAD_OPTION",
        message: "rowsPerChunk must be a positive integer, but is 0",
      }),
    );
    expect(() => validateFormatResultOptions({ truthRowOffset: -1 })).toThrow(
      expect.objectContaining({
        code: "BAD_OPTION",
        message: "truthRowOffset must be a non-negative integer, but is -1",
      }),
    );
  });
});

describe("parseResultFile", () => {
  it("parses truth and predictions, padding short rows with -1 / NaN", () => {
    const { truth, predictions } = parseResultFile("3,1\t5:12.0,1:2.5\n\t7:1.0\n2\t\n");
    expect(truth.rows).toBe(3);
    expect(Array.from(truth.indptr)).toEqual([0, 2, 2, 3]);
    expect(Array.from(truth.indices)).toEqual([1, 3, 2]);
    expect(truth.cols).toBe(8);
    expect(predictions.rows).toBe(3);
    expect(predictions.k).toBe(2);
    expect(Array.from(predictions.ids)).toEqual([5, 1, 7, -1, -1, -1]);
    expect(Array.from(predictions.scores)).toEqual([
      12,
      2.5,
      1,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ]);
  });

  it("keeps predictions in file order, repeats included, and merges repeated true labels", () => {
    const { truth, predictions } = parseResultFile("4,4,2\t1:1.0,9:5.0,1:3.0");
    expect(Array.from(truth.indices)).toEqual([2, 4]);
    expect(Array.from(predictions.ids)).toEqual([1, 9, 1]);
    expect(Array.from(predictions.scores)).toEqual([1, 5, 3]);
  });

  it("accepts CRLF, trailing blanks, a BOM, blank lines, blank runs as separator and no final newline", () => {
    const text = "\uFEFF1,2\t3:1.0 \r\n\r\n\t\r\n4  5:2\t\r\n\t \t6:-1.5e1";
    const { truth, predictions } = parseResultFile(text);
    expect(truth.rows).toBe(5);
    expect(Array.from(truth.indptr)).toEqual([0, 2, 2, 2, 3, 3]);
    expect(Array.from(truth.indices)).toEqual([1, 2, 4]);
    expect(predictions.k).toBe(1);
    expect(Array.from(predictions.ids)).toEqual([3, -1, -1, 5, 6]);
    expect(Array.from(predictions.scores)).toEqual([1, Number.NaN, Number.NaN, 2, -15]);
  });

  it("gives an empty result for an empty input", () => {
    const { truth, predictions } = parseResultFile("");
    expect(truth.rows).toBe(0);
    expect(truth.cols).toBe(0);
    expect(predictions.k).toBe(0);
    expect(predictions.ids.length).toBe(0);
  });

  it("rounds scores to 32-bit floats", () => {
    const { predictions } = parseResultFile("\t1:0.1,2:123456789.5,3:1e-50");
    expect(Array.from(predictions.scores)).toEqual([Math.fround(0.1), 123456792, 0]);
  });

  it("is independent of how the bytes are split into chunks", () => {
    const text = new TextEncoder().encode("1,22\t3:1.0,44:2.5\n\t5:3.0\n6\t\n7,8\t9:10.0");
    const whole = parseResultFile(text);
    for (let size = 1; size <= 7; size++) {
      const parser = new ResultFileParser();
      for (let i = 0; i < text.length; i += size) parser.push(text.subarray(i, i + size));
      expect(parser.finish()).toEqual(whole);
    }
  });

  const cases: [string, string, number, number, string][] = [
    [
      "1,,2\t3:1.0",
      "true label must be a non-negative integer (empty label: stray comma)",
      1,
      3,
      ",2",
    ],
    ["1,x\t3:1.0", "true label must be a non-negative integer", 1, 3, "x"],
    [
      "3:1.0,4:2.0",
      "true label must be a non-negative integer (a line without true labels must start with a TAB)",
      1,
      1,
      "3:1.0,4:2.0",
    ],
    ["1\t3:1.0,", "empty prediction after a comma", 1, 8, ","],
    ["1\t3:1.0,,4:1.0", "empty prediction (stray comma)", 1, 9, ""],
    ["1\t3", "prediction must be label:score, but has no ':'", 1, 3, "3"],
    ["1\t-3:1.0", "predicted label must be a non-negative integer", 1, 3, "-3:1.0"],
    ["1\t3:", "score is empty", 1, 3, "3:"],
    ["1\t3:abc", "score is not a number", 1, 3, "3:abc"],
    ["1\t3:1.0x", "score is not a number", 1, 3, "3:1.0x"],
    ["1\t3:1e", "score is not a number", 1, 3, "3:1e"],
    ["1\t3:nan", "score must be a finite number", 1, 3, "3:nan"],
    ["1\t3:-inf", "score must be a finite number", 1, 3, "3:-inf"],
    ["1\t3:1e39", "score overflows a 32-bit float", 1, 3, "3:1e39"],
    [
      "1\t3:1.0 4:2.0",
      "predictions must be label:score pairs separated by commas, without blanks",
      1,
      8,
      " 4:2.0",
    ],
    ["9999999999\t3:1.0", "true label id above 2^31-1", 1, 1, "9999999999"],
    ["1\t2147483648:1.0", "predicted label id above 2^31-1", 1, 3, "2147483648"],
    ["1\t1:1.0\n2\t2:2.0\n3\t3:x", "score is not a number", 3, 3, "3:x"],
  ];
  it.each(cases)("rejects %j: %s", (text, reason, line, column, offending) => {
    const err = catchError(() => parseResultFile(text, "r.txt"));
    expect(err.code).toBe("BAD_RESULT_LINE");
    expect(err.reason).toBe(reason);
    expect(err.file).toBe("r.txt");
    expect(err.line).toBe(line);
    expect(err.column).toBe(column);
    expect(err.text).toBe(offending);
  });

  it("puts file, line and column in the message", () => {
    expect(() => parseResultFile("1\t2:1.0\n\t3:x\n", "out.txt")).toThrow(
      'out.txt:2:2: score is not a number: "3:x"',
    );
  });
});

describe("round trip", () => {
  // Scores that survive one decimal: float32 of a tenth, as AnnexML's vote sums are.
  const tenths = fc.integer({ min: -100000, max: 100000 }).map((n) => Math.fround(n / 10));
  const labelSet = fc
    .uniqueArray(fc.integer({ min: 0, max: 2000 }), { maxLength: 6 })
    .map((a) => a.sort((x, y) => x - y));
  const predictionRow = fc.array(fc.tuple(fc.integer({ min: 0, max: 2000 }), tenths), {
    maxLength: 5,
  });
  const resultRows = fc.array(fc.tuple(labelSet, predictionRow), { maxLength: 30 });

  it("parse(format(x)) gives x back, padded to the longest row", () => {
    fc.assert(
      fc.property(resultRows, fc.integer({ min: 5, max: 8 }), (rows, k) => {
        const truth = labels(rows.map(([t]) => t));
        const predictions = knn(
          rows.map(([, p]) => p),
          k,
        );
        const text = [...formatResultChunks(truth, predictions, { rowsPerChunk: 7 })].join("");
        const parsed = parseResultFile(text);
        expect(Array.from(parsed.truth.indptr)).toEqual(Array.from(truth.indptr));
        expect(Array.from(parsed.truth.indices)).toEqual(Array.from(truth.indices));
        const width = Math.max(0, ...rows.map(([, p]) => p.length));
        expect(parsed.predictions.k).toBe(width);
        expect(parsed.predictions).toEqual(
          knn(
            rows.map(([, p]) => p),
            width,
          ),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("format(parse(text)) gives canonical text back", () => {
    fc.assert(
      fc.property(resultRows, (rows) => {
        const text = rows
          .map(
            ([t, p]) =>
              `${t.join(",")}\t${p.map(([id, s]) => `${id}:${s.toFixed(1)}`).join(",")}\n`,
          )
          .join("");
        const { truth, predictions } = parseResultFile(text);
        expect([...formatResultChunks(truth, predictions)].join("")).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe("files", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "result-file-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the bibtex fixture: 2515 rows of up to 10 predictions", async () => {
    const { truth, predictions } = await readResultFile(BIBTEX_RESULT);
    expect(truth.rows).toBe(2515);
    expect(predictions.rows).toBe(2515);
    expect(predictions.k).toBe(10);
    expect(Array.from(truth.indices.subarray(0, 3))).toEqual([16, 27, 77]);
    expect(Array.from(predictions.ids.subarray(0, 3))).toEqual([77, 27, 16]);
    expect(Array.from(predictions.scores.subarray(0, 3))).toEqual([112, 52, 48]);
  });

  it("writes what it reads, byte for byte", async () => {
    const original = await readFile(BIBTEX_RESULT, "utf8");
    const { truth, predictions } = parseResultFile(original);
    const out = join(dir, "copy.txt");
    await writeResultFile(out, truth, predictions);
    expect(await readFile(out, "utf8")).toBe(original);
  });

  it("reads gzip files and names the file in errors", async () => {
    const gz = join(dir, "r.txt.gz");
    await writeFile(gz, gzipSync("1\t2:3.0\n"));
    const { predictions } = await readResultFile(gz);
    expect(Array.from(predictions.ids)).toEqual([2]);
    const bad = join(dir, "bad.txt");
    await writeFile(bad, "1\t2:3.0\n1\t2;3.0\n");
    await expect(readResultFile(bad)).rejects.toMatchObject({
      code: "BAD_RESULT_LINE",
      file: bad,
      line: 2,
    });
  });
});
