import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type KnnResult, type LabelMatrix, readDataset, readResultFile } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { formatMetrics } from "./format.js";
import { evaluate, evaluatePropensityScored } from "./metrics.js";
import { inversePropensities } from "./propensity.js";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const FIXTURES = here("../fixtures/bibtex/");
const DATA = here("../../../data/");

describe("bibtex fixtures: the reference scripts' output, line for line", () => {
  const files = ["result-graph", "result-bruteforce"];
  const propensities = [
    { suffix: "psmetrics", A: 0.55, B: 1.5 },
    { suffix: "psmetrics-A0.5-B0.4", A: 0.5, B: 0.4 },
  ];

  it.each(files)("%s: P@k and nDCG@k", async (name) => {
    const { truth, predictions } = await readResultFile(`${FIXTURES}${name}.txt`);
    const expected = readFileSync(`${FIXTURES}${name}.metrics.txt`, "utf8");
    expect(formatMetrics(evaluate(truth, predictions))).toBe(expected);
  });

  for (const { suffix, A, B } of propensities) {
    it.each(files)(`%s: PSP@k and PSnDCG@k with A=${A}, B=${B}`, async (name) => {
      const [{ truth, predictions }, train] = await Promise.all([
        readResultFile(`${FIXTURES}${name}.txt`),
        readDataset(`${DATA}bibtex/train.txt`),
      ]);
      const expected = readFileSync(`${FIXTURES}${name}.${suffix}.txt`, "utf8");
      const metrics = evaluatePropensityScored(
        truth,
        predictions,
        inversePropensities(train.labels, { A, B }),
      );
      expect(formatMetrics(metrics)).toBe(expected);
    });
  }
});

describe("delicious: a train file with empty label fields", () => {
  /** Predicts exactly the true labels, ranked by `score(label)` descending. */
  function perfect(truth: LabelMatrix, score: (label: number) => number): KnnResult {
    let k = 0;
    for (let r = 0; r < truth.rows; r++) k = Math.max(k, truth.indptr[r + 1] - truth.indptr[r]);
    const ids = new Int32Array(truth.rows * k).fill(-1);
    const scores = new Float32Array(truth.rows * k).fill(Number.NaN);
    for (let r = 0; r < truth.rows; r++) {
      for (let p = truth.indptr[r], j = 0; p < truth.indptr[r + 1]; p++, j++) {
        ids[r * k + j] = truth.indices[p];
        scores[r * k + j] = score(truth.indices[p]);
      }
    }
    return { rows: truth.rows, k, ids, scores };
  }

  it("counts every train row in N and scores the truth itself as the script does", async () => {
    const [train, test] = await Promise.all([
      readDataset(`${DATA}delicious/train.txt`),
      readDataset(`${DATA}delicious/test.txt`),
    ]);
    const propensities = inversePropensities(train.labels);
    expect(propensities.trainRows).toBe(12920); // 10 of them without labels
    expect(test.labels.rows).toBe(3185); // 4 of them without labels

    // Equal scores: the top 5 are each row's 5 smallest label ids.
    const byId = perfect(test.labels, () => 1);
    const m = evaluate(test.labels, byId);
    // P@1 = rows with a label / rows; P@n = sum of min(|Y|, n) / (rows * n).
    expect(m.precision[0]).toBe(3181 / 3185);
    expect(m.precision[1]).toBe(6356 / 3185 / 2);
    expect(m.precision[4]).toBe(15805 / 3185 / 5);
    expect(Array.from(m.ndcg)).toEqual(new Array(5).fill(3181 / 3185));
    // Figures of the reference script, its train reader patched to accept empty label fields.
    const ps = evaluatePropensityScored(test.labels, byId, propensities);
    expect(Array.from(ps.psp)).toEqual([
      0.6317207608149559, 0.6630868099700424, 0.6985193372138835, 0.7289635096746859,
      0.756356853461262,
    ]);
    expect(Array.from(ps.psndcg)).toEqual([
      0.6317207608149559, 0.6558132068649069, 0.6817227291298407, 0.7039462233351639,
      0.7239579720998724,
    ]);

    // Ranked by inverse propensity (rarest first), the truth is the ideal: exactly 1.
    const rank = new Map<number, number>();
    Array.from(propensities.weights.keys())
      .sort((a, b) => propensities.weights[b] - propensities.weights[a] || a - b)
      .forEach((label, i) => {
        rank.set(label, 1e6 - i);
      });
    const ideal = evaluatePropensityScored(
      test.labels,
      perfect(test.labels, (l) => rank.get(l) ?? 0),
      propensities,
    );
    expect(Array.from(ideal.psp)).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(ideal.psndcg)).toEqual([1, 1, 1, 1, 1]);
  });
});
