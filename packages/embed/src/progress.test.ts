import { labelKnnGraph } from "@annexml/knng";
import { normalizeRows, readDataset } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { trainEmbedding } from "./train.js";

const path = new URL("../../../data/bibtex/train.txt", import.meta.url).pathname;

describe("trainEmbedding onProgress", () => {
  it("reports monotone anchor rows from 0 to exactly iters x rows with positives, same model", async () => {
    const data = await readDataset(path);
    normalizeRows(data.features);
    const rows = new Int32Array(900).map((_, i) => i * 5);
    const positives = labelKnnGraph(data.labels, { k: 10, rows });
    let active = 0;
    for (let i = 0; i < rows.length; i++) if (positives.ids[i * 10] >= 0) active++;
    const input = { features: data.features, labels: data.labels, rows, positives };
    const options = { iters: 3, embSize: 16, seed: 4 };
    const calls: [number, number][] = [];
    const model = trainEmbedding(input, { ...options, onProgress: (d, t) => calls.push([d, t]) });
    expect(model.toArrays()).toEqual(trainEmbedding(input, options).toArrays());
    const total = 3 * active;
    expect(calls[0]).toEqual([0, total]);
    expect(calls.at(-1)).toEqual([total, total]);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
      expect(calls[i][1]).toBe(total);
    }
    expect(calls.some(([d]) => d % active !== 0)).toBe(true);
    expect(() => trainEmbedding(input, { onProgress: 2 } as never)).toThrow(
      "onProgress must be a function, but is number",
    );
  });
});
