import { selectRows } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { fitKmeans } from "./kmeans.js";
import { fitMincut } from "./mincut.js";
import { bundledTrain } from "./test-util.js";
import type { PartitionOptions } from "./types.js";

async function sample(rows: number) {
  const d = await bundledTrain("bibtex");
  const pick = new Int32Array(rows).map((_, i) => i * 2);
  return { x: selectRows(d.features, pick), labels: selectRows(d.labels, pick) };
}

describe("onProgress", () => {
  for (const [name, fit] of [
    ["mincut", fitMincut],
    ["kmeans", fitKmeans],
  ] as const) {
    it(`${name}: monotone row visits from 0 to exactly iters x N, and the same model`, async () => {
      const { x, labels } = await sample(2400);
      const options: PartitionOptions = { k: 3, iters: 4, seed: 3 };
      const calls: [number, number][] = [];
      const model = fit(x, labels, { ...options, onProgress: (d, t) => calls.push([d, t]) });
      expect(model.toArrays()).toEqual(fit(x, labels, options).toArrays());
      const total = 4 * x.rows;
      expect(calls[0]).toEqual([0, total]);
      expect(calls.at(-1)).toEqual([total, total]);
      for (let i = 1; i < calls.length; i++) {
        expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
        expect(calls[i][1]).toBe(total);
      }
      // Within epochs too, not only at their ends (2400 rows: every 1024).
      expect(calls.some(([d]) => d % x.rows !== 0)).toBe(true);
    });
  }

  it("k-means stopping early jumps to the total", async () => {
    const { x, labels } = await sample(300);
    const calls: number[] = [];
    const epochs: number[] = [];
    fitKmeans(x, labels, {
      k: 2,
      iters: 50,
      seed: 1,
      onEpoch: (e) => epochs.push(e.epoch),
      onProgress: (d) => calls.push(d),
    });
    expect(epochs.length).toBeLessThan(50);
    expect(calls.at(-1)).toBe(50 * x.rows);
  });

  it("rejects a non-function", async () => {
    const { x, labels } = await sample(100);
    expect(() => fitMincut(x, labels, { k: 2, onProgress: 1 } as never)).toThrow(
      expect.objectContaining({
        code: "BAD_OPTION",
        message: "onProgress must be a function, but is number",
      }),
    );
  });
});
