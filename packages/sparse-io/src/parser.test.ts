import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { AnnexmlError } from "./errors.js";
import { readDataset, readDatasetBatches } from "./node/read-dataset.js";
import { DatasetParser, parseDataset } from "./parser.js";
import type { Dataset } from "./types.js";

const DATA = new URL("../../../data/", import.meta.url).pathname;

/** The statistics `../shared/data/README.md` lists for each bundled split. */
const EXPECTED = [
  {
    file: "bibtex/train.txt",
    rows: 4880,
    features: 1836,
    labels: 159,
    avgLabels: "2.380",
    avgNnz: "68.49",
    maxLabels: 28,
    used: 159,
    noLabels: 0,
  },
  {
    file: "bibtex/test.txt",
    rows: 2515,
    features: 1836,
    labels: 159,
    avgLabels: "2.444",
    avgNnz: "68.98",
    maxLabels: 17,
    used: 159,
    noLabels: 0,
  },
  {
    file: "delicious/train.txt",
    rows: 12920,
    features: 500,
    labels: 983,
    avgLabels: "19.047",
    avgNnz: "18.54",
    maxLabels: 25,
    used: 983,
    noLabels: 10,
  },
  {
    file: "delicious/test.txt",
    rows: 3185,
    features: 500,
    labels: 983,
    avgLabels: "18.910",
    avgNnz: "17.29",
    maxLabels: 25,
    used: 982,
    noLabels: 4,
  },
];

describe("bundled datasets", () => {
  for (const e of EXPECTED) {
    it(`${e.file} matches its published statistics`, async () => {
      const d = await readDataset(join(DATA, e.file));
      expect(d.header).toEqual({ rows: e.rows, features: e.features, labels: e.labels });
      expect(d.features.rows).toBe(e.rows);
      expect(d.features.cols).toBe(e.features);
      expect(d.labels.cols).toBe(e.labels);
      const { labels, features } = d;
      expect((labels.indices.length / labels.rows).toFixed(3)).toBe(e.avgLabels);
      expect((features.indices.length / features.rows).toFixed(2)).toBe(e.avgNnz);
      let maxLabels = 0;
      let noLabels = 0;
      let noFeatures = 0;
      for (let r = 0; r < labels.rows; r++) {
        const n = labels.indptr[r + 1] - labels.indptr[r];
        maxLabels = Math.max(maxLabels, n);
        if (n === 0) noLabels++;
        if (features.indptr[r + 1] === features.indptr[r]) noFeatures++;
      }
      expect(maxLabels).toBe(e.maxLabels);
      expect(noLabels).toBe(e.noLabels);
      expect(noFeatures).toBe(0);
      expect(new Set(labels.indices).size).toBe(e.used);
      expect(d.maxFeatureId).toBeLessThan(e.features);
      expect(d.warnings.duplicateLabels).toBe(0);
      // Binary bag-of-words: every stored value is 1.
      expect(features.values.every((v) => v === 1)).toBe(true);
    });
  }

  it("reads the first rows of bibtex exactly", async () => {
    const d = await readDataset(join(DATA, "bibtex/train.txt"));
    expect([...d.labels.indices.subarray(0, 5)]).toEqual([3, 23, 61, 63, 76]);
    expect([...d.features.indices.subarray(0, 4)]).toEqual([0, 5, 6, 20]);
  });

  it("keeps the empty-label rows of delicious as rows (line 4959 of train)", async () => {
    const d = await readDataset(join(DATA, "delicious/train.txt"));
    const r = 4959 - 2; // line 1 is the header
    expect(d.labels.indptr[r + 1] - d.labels.indptr[r]).toBe(0);
    expect([
      ...d.features.indices.subarray(d.features.indptr[r], d.features.indptr[r + 1]),
    ]).toEqual([13, 451]);
  });
});

function rows(d: Dataset) {
  const out: { labels: number[]; features: [number, number][] }[] = [];
  for (let r = 0; r < d.features.rows; r++) {
    const labels = [...d.labels.indices.subarray(d.labels.indptr[r], d.labels.indptr[r + 1])];
    const features: [number, number][] = [];
    for (let p = d.features.indptr[r]; p < d.features.indptr[r + 1]; p++) {
      features.push([d.features.indices[p], d.features.values[p]]);
    }
    out.push({ labels, features });
  }
  return out;
}

describe("accepted format variants", () => {
  it("reads rows with and without labels, features in any order", () => {
    const d = parseDataset("3 10 5\n1,4 3:0.5 1:2\n 7:1\n2\n");
    expect(rows(d)).toEqual([
      {
        labels: [1, 4],
        features: [
          [1, 2],
          [3, 0.5],
        ],
      },
      { labels: [], features: [[7, 1]] },
      { labels: [2], features: [] },
    ]);
    expect(d.header).toEqual({ rows: 3, features: 10, labels: 5 });
    expect(d.features.cols).toBe(10);
    expect(d.labels.cols).toBe(5);
    expect(d.maxFeatureId).toBe(7);
    expect(d.maxLabelId).toBe(4);
  });

  it("accepts CRLF, tabs, trailing blanks, a BOM, comments and blank lines", () => {
    const text =
      "\uFEFF# a comment line\r\n2 5 3\r\n\r\n0,2\t1:1  4:0.25 \t\r\n   \n1 0:3 # trailing comment\r\n";
    const d = parseDataset(text);
    expect(d.header).toEqual({ rows: 2, features: 5, labels: 3 });
    expect(rows(d)).toEqual([
      {
        labels: [0, 2],
        features: [
          [1, 1],
          [4, 0.25],
        ],
      },
      { labels: [1], features: [[0, 3]] },
    ]);
  });

  it("needs no header, and takes the size from the ids", () => {
    const d = parseDataset("5 1:1\n0,9 2:1");
    expect(d.header).toBeNull();
    expect(d.features.rows).toBe(2);
    expect(d.features.cols).toBe(3);
    expect(d.labels.cols).toBe(10);
  });

  it("keeps 0-based and 1-based feature ids as given", () => {
    expect(parseDataset("1 1:1 2:1").maxFeatureId).toBe(2);
    expect(parseDataset("1 0:1 1:1").features.indices[0]).toBe(0);
  });

  it("parses decimal, signed and exponent values like Number() then float32", () => {
    const values = [
      "0.1",
      "-2.5",
      "+3",
      ".5",
      "5.",
      "1e-3",
      "2.5E+2",
      "0.30000000000000004",
      "123456789.123456789",
      "1e-40",
      "-0",
    ];
    const d = parseDataset(`1 ${values.map((v, i) => `${i}:${v}`).join(" ")}`);
    expect([...d.features.values]).toEqual(values.map((v) => Math.fround(Number(v))));
  });

  it("merges duplicate labels and counts them in the warnings", () => {
    const d = parseDataset("3,1,3 1:1\n2,2,2 1:1\n");
    expect(rows(d).map((r) => r.labels)).toEqual([[1, 3], [2]]);
    expect(d.warnings.duplicateLabels).toBe(3);
    expect(d.warnings.firstDuplicateLabelLine).toBe(1);
  });

  it("gives the same result whatever the chunking", async () => {
    const text = (await import("node:fs")).readFileSync(join(DATA, "delicious/test.txt"));
    const whole = parseDataset(text);
    const chunked = (bytes: Uint8Array, size: number) => {
      const parser = new DatasetParser({ checkHeader: false });
      for (let i = 0; i < bytes.length; i += size) parser.push(bytes.subarray(i, i + size));
      return parser.finish();
    };
    for (const size of [7, 4093, 65536]) {
      const d = chunked(text, size);
      expect(d.features.indptr).toEqual(whole.features.indptr);
      expect(d.features.indices).toEqual(whole.features.indices);
      expect(d.features.values).toEqual(whole.features.values);
      expect(d.labels.indptr).toEqual(whole.labels.indptr);
      expect(d.labels.indices).toEqual(whole.labels.indices);
    }
    // Byte by byte over a prefix of whole lines (keeps the test fast).
    const prefix = text.subarray(0, text.lastIndexOf(10, 30000) + 1);
    const byByte = chunked(prefix, 1);
    const reference = parseDataset(prefix, { checkHeader: false });
    expect(byByte.features.indices).toEqual(reference.features.indices);
    expect(byByte.labels.indices).toEqual(reference.labels.indices);
    expect(byByte.features.rows).toBe(reference.features.rows);
  });

  it("sizes its arrays from a size hint without losing entries, however the density changes", () => {
    // Sparse rows first (the sample the arrays are sized from), then rows
    // as dense as the format allows (2 bytes a label, 4 a feature), over
    // several pieces: the worst-case reservation must hold every entry.
    const sparse = Array.from({ length: 3000 }, (_, r) => `${r % 7} ${r % 50}:0.5`);
    const dense = Array.from({ length: 16000 }, (_, r) =>
      [
        Array.from({ length: 20 }, (_, j) => (r + j) % 10).join(","),
        Array.from({ length: 40 }, (_, j) => `${j % 10}:${(r + j) % 9}`)
          .slice(0, 10)
          .join(" "),
      ].join(" "),
    );
    const bytes = new TextEncoder().encode(`${[...sparse, ...dense, ...sparse].join("\n")}\n`);
    expect(bytes.length).toBeGreaterThan(4 * (1 << 18));
    const reference = (() => {
      const parser = new DatasetParser();
      for (let i = 0; i < bytes.length; i += 1000) parser.push(bytes.subarray(i, i + 1000));
      return parser.finish();
    })();
    // Compared as bytes: toEqual is slow on arrays of 10^5 entries.
    const bytesOf = (a: Int32Array | Float32Array) =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const same = (a: Int32Array | Float32Array, b: Int32Array | Float32Array) =>
      a.length === b.length && bytesOf(a).equals(bytesOf(b));
    for (const sizeHint of [bytes.length, 100, bytes.length * 50]) {
      const d = parseDataset(bytes, { sizeHint });
      expect(d.features.rows).toBe(22000);
      expect(same(d.features.indptr, reference.features.indptr)).toBe(true);
      expect(same(d.features.indices, reference.features.indices)).toBe(true);
      expect(same(d.features.values, reference.features.values)).toBe(true);
      expect(same(d.labels.indptr, reference.labels.indptr)).toBe(true);
      expect(same(d.labels.indices, reference.labels.indices)).toBe(true);
      expect(d.features.indices.length).toBe(d.features.indptr[22000]);
      expect(d.labels.indices.length).toBe(d.labels.indptr[22000]);
    }
  });

  it("allocates on SharedArrayBuffer when asked", () => {
    const d = parseDataset("1 1:1\n", { shared: true });
    expect(d.features.indices.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(d.labels.indptr.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(parseDataset("1 1:1\n").features.indices.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it("reads gzip files transparently, by content", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sparse-io-"));
    const text = "2 4 3\n0,2 1:1 3:2\n 0:1\n";
    await writeFile(join(dir, "data.txt.gz"), gzipSync(text));
    await writeFile(join(dir, "data.bin"), gzipSync(text));
    for (const name of ["data.txt.gz", "data.bin"]) {
      const d = await readDataset(join(dir, name));
      expect(rows(d)).toEqual(rows(parseDataset(text)));
    }
  });
});

function expectError(text: string, code: string, line: number, column?: number, snippet?: string) {
  let error: unknown;
  try {
    parseDataset(text, { source: "bad.txt" });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(AnnexmlError);
  const e = error as AnnexmlError;
  expect({ code: e.code, line: e.line, file: e.file }).toEqual({ code, line, file: "bad.txt" });
  if (column !== undefined) expect(e.column).toBe(column);
  if (snippet !== undefined) expect(e.text).toBe(snippet);
  expect(e.message).toMatch(new RegExp(`^bad\\.txt:${line}:`));
  return e;
}

describe("bad input", () => {
  it("names a missing ':'", () => {
    expectError("1 1:1\n2 3:1 17 4:1\n", "MISSING_COLON", 2, 7, "17");
  });
  it("names a non-numeric or negative index", () => {
    expectError("1 a:1\n", "BAD_INDEX", 1, 3, "a:1");
    expectError("1 1:1\n\n1 -3:1\n", "BAD_INDEX", 3, 3, "-3:1");
    expectError("1 :1\n", "BAD_INDEX", 1, 3, ":1");
  });
  it("names an index above 2^31-1", () => {
    expectError("1 2147483648:1\n", "ID_TOO_LARGE", 1, 3);
    expect(parseDataset("1 2147483647:1\n").maxFeatureId).toBe(2147483647);
  });
  it("names an empty value", () => {
    expectError("1 1:1 5:\n", "EMPTY_VALUE", 1, 7, "5:");
    expectError("1 5: 6:1\n", "EMPTY_VALUE", 1, 3, "5:");
  });
  it("names NaN, Infinity and overflowing values", () => {
    expectError("1 1:nan\n", "NON_FINITE_VALUE", 1, 3, "1:nan");
    expectError("1 1:-Infinity\n", "NON_FINITE_VALUE", 1, 3);
    expectError("1 1:inf\n", "NON_FINITE_VALUE", 1, 3);
    expectError("1 1:1e39\n", "NON_FINITE_VALUE", 1, 3);
  });
  it("names a value that is not a number", () => {
    expectError("1 1:abc\n", "BAD_VALUE", 1, 3, "1:abc");
    expectError("1 1:1.5x\n", "BAD_VALUE", 1, 3, "1:1.5x");
    expectError("1 1:1e\n", "BAD_VALUE", 1, 3);
  });
  it("names a duplicate feature index, pointing at the second one", () => {
    expectError("1 1:1\n1 4:1 2:1 4:3\n", "DUPLICATE_FEATURE", 2, 11, "4:3");
  });
  it("names a non-integer label", () => {
    expectError("1 1:1\n1.5 1:1\n", "BAD_LABEL", 2, 1);
    expectError("a,b 1:1\n", "BAD_LABEL", 1, 1);
    expectError("1,,2 1:1\n", "BAD_LABEL", 1, 3);
    expectError("-1 1:1\n", "BAD_LABEL", 1, 1);
    expectError("1 1:1\n2:1 3:1\n", "BAD_LABEL", 2, 1, "2:1");
    expectError("99999999999 1:1\n", "ID_TOO_LARGE", 1, 1);
  });
  it("checks the header's row count unless told not to", () => {
    const e = expectError("3 4 5\n1 1:1\n2 2:1\n", "HEADER_MISMATCH", 1);
    expect(e.message).toContain("3 rows");
    expect(e.message).toContain("2 rows");
    expect(parseDataset("3 4 5\n1 1:1\n", { checkHeader: false }).features.rows).toBe(1);
  });
  it("names an unreadable file", async () => {
    await expect(readDataset("/nonexistent/train.txt")).rejects.toMatchObject({
      code: "FILE_UNREADABLE",
      file: "/nonexistent/train.txt",
    });
  });
  it("counts lines across comments, blank lines and chunks", () => {
    const parser = new DatasetParser({ source: "bad.txt" });
    parser.push(new TextEncoder().encode("# c\n\n1 1:1\n2 2"));
    expect(() => {
      parser.push(new TextEncoder().encode(":x\n"));
    }).toThrowError(/^bad\.txt:4:3: feature value is not a number: "2:x"/);
  });
});

describe("batches", () => {
  it("takeRows splits the rows without changing them, and checks the header over all batches", async () => {
    const { readFileSync } = await import("node:fs");
    const text = readFileSync(join(DATA, "delicious/test.txt"));
    const whole = parseDataset(text);
    const parser = new DatasetParser();
    const batches: Dataset[] = [];
    for (let i = 0; i < text.length; i += 50000) {
      parser.push(text.subarray(i, i + 50000));
      batches.push(parser.takeRows());
    }
    batches.push(parser.finish());
    expect(batches.reduce((n, b) => n + b.features.rows, 0)).toBe(3185);
    let row = 0;
    for (const b of batches) {
      for (let r = 0; r < b.features.rows; r++, row++) {
        const a = whole.features.indices.subarray(
          whole.features.indptr[row],
          whole.features.indptr[row + 1],
        );
        expect(b.features.indices.subarray(b.features.indptr[r], b.features.indptr[r + 1])).toEqual(
          a,
        );
        const la = whole.labels.indices.subarray(
          whole.labels.indptr[row],
          whole.labels.indptr[row + 1],
        );
        expect(b.labels.indices.subarray(b.labels.indptr[r], b.labels.indptr[r + 1])).toEqual(la);
      }
    }
    const short = new DatasetParser({ source: "short.txt" });
    short.push(new TextEncoder().encode("3 2 2\n1 1:1\n"));
    short.takeRows();
    short.push(new TextEncoder().encode("0 0:1\n"));
    expect(() => short.finish()).toThrowError(/declares 3 rows but the file has 2 rows/);
  });

  it("readDatasetBatches streams a file in bounded batches", async () => {
    const sizes: number[] = [];
    for await (const batch of readDatasetBatches(join(DATA, "bibtex/test.txt"), {
      batchRows: 1000,
    })) {
      sizes.push(batch.features.rows);
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2515);
    expect(sizes.length).toBeGreaterThan(1);
    await expect(readDatasetBatches("x", { batchRows: 0 }).next()).rejects.toThrowError(
      /batchRows must be a positive integer/,
    );
  });
});
