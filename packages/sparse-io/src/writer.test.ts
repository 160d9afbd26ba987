import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readDataset } from "./node/read-dataset.js";
import { writeDataset } from "./node/write-dataset.js";
import { DatasetParser, parseDataset } from "./parser.js";
import type { CsrMatrix, LabelMatrix } from "./types.js";
import { formatDataset, formatFloat32 } from "./writer.js";

/** A random dataset: every row has a label or a feature (see formatDataset). */
const datasetArbitrary = fc
  .record({ cols: fc.integer({ min: 1, max: 50 }), labelCols: fc.integer({ min: 1, max: 20 }) })
  .chain(({ cols, labelCols }) =>
    fc
      .array(
        fc.record({
          labels: fc.uniqueArray(fc.integer({ min: 0, max: labelCols - 1 }), { maxLength: 6 }),
          features: fc.uniqueArray(
            fc.tuple(
              fc.integer({ min: 0, max: cols - 1 }),
              fc.float({ noNaN: true, noDefaultInfinity: true }),
            ),
            { maxLength: 12, selector: ([i]) => i },
          ),
        }),
        { minLength: 1, maxLength: 30 },
      )
      .map((rows) => rows.filter((r) => r.labels.length + r.features.length > 0))
      .filter((rows) => rows.length > 0)
      .map((rows) => build(rows, cols, labelCols)),
  );

function build(
  rows: { labels: number[]; features: [number, number][] }[],
  cols: number,
  labelCols: number,
) {
  const fptr = [0];
  const fidx: number[] = [];
  const fval: number[] = [];
  const lptr = [0];
  const lidx: number[] = [];
  for (const row of rows) {
    for (const [i, v] of [...row.features].sort((a, b) => a[0] - b[0])) {
      fidx.push(i);
      fval.push(v);
    }
    lidx.push(...[...row.labels].sort((a, b) => a - b));
    fptr.push(fidx.length);
    lptr.push(lidx.length);
  }
  const features: CsrMatrix = {
    rows: rows.length,
    cols,
    indptr: Int32Array.from(fptr),
    indices: Int32Array.from(fidx),
    values: Float32Array.from(fval),
  };
  const labels: LabelMatrix = {
    rows: rows.length,
    cols: labelCols,
    indptr: Int32Array.from(lptr),
    indices: Int32Array.from(lidx),
  };
  return { features, labels };
}

describe("write -> read round trip", () => {
  it("reads back exactly what was written (property)", () => {
    fc.assert(
      fc.property(datasetArbitrary, fc.integer({ min: 1, max: 64 }), (data, chunkSize) => {
        const text = [...formatDataset(data, { rowsPerChunk: 3 })].join("");
        const bytes = new TextEncoder().encode(text);
        const parser = new DatasetParser();
        for (let i = 0; i < bytes.length; i += chunkSize)
          parser.push(bytes.subarray(i, i + chunkSize));
        const back = parser.finish();
        expect(back.features.rows).toBe(data.features.rows);
        expect(back.features.cols).toBe(data.features.cols);
        expect(back.labels.cols).toBe(data.labels.cols);
        expect(back.features.indptr).toEqual(data.features.indptr);
        expect(back.features.indices).toEqual(data.features.indices);
        expect(back.features.values).toEqual(data.features.values);
        expect(back.labels.indptr).toEqual(data.labels.indptr);
        expect(back.labels.indices).toEqual(data.labels.indices);
      }),
      { numRuns: 300 },
    );
  });

  it("formats any float32 as the shortest text that reads back to it (property)", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (v) => {
        const text = formatFloat32(v);
        expect(Math.fround(Number(text))).toBe(v);
        expect(text.length).toBeLessThanOrEqual(16);
      }),
      { numRuns: 2000 },
    );
    expect(formatFloat32(Math.fround(0.1))).toBe("0.1");
    expect(formatFloat32(3)).toBe("3");
  });

  it("writes a file atomically and reads it back, bundled data included", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sparse-io-"));
    const source = new URL("../../../data/bibtex/test.txt", import.meta.url).pathname;
    const data = await readDataset(source);
    const target = join(dir, "copy.txt");
    await writeFile(target, "previous content");
    await writeDataset(target, data);
    // The original file was written the same way (sorted ids, integer values).
    expect(await readFile(target, "utf8")).toBe(await readFile(source, "utf8"));
    const back = await readDataset(target);
    expect(back.features.indices).toEqual(data.features.indices);
  });

  it("refuses a row that the format cannot hold", () => {
    const data = build(
      [
        { labels: [1], features: [] },
        { labels: [], features: [] },
      ],
      3,
      3,
    );
    expect(() => [...formatDataset(data)]).toThrowError(/row 1 has neither labels nor features/);
  });

  it("writes a row without labels with a leading blank", () => {
    const data = build([{ labels: [], features: [[2, 0.5]] }], 3, 3);
    const text = [...formatDataset(data, { header: false })].join("");
    expect(text).toBe(" 2:0.5\n");
    expect(parseDataset(text).labels.indices.length).toBe(0);
  });
});
