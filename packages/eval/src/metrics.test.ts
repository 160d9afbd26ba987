import {
  type KnnResult,
  type LabelMatrix,
  parseDataset,
  parseResultFile,
} from "@annexml/sparse-io";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { naiveEvaluate } from "../bench/naive.js";
import { formatMetrics, metricsToJSON } from "./format.js";
import { evaluate, evaluatePropensityScored } from "./metrics.js";
import { inversePropensities } from "./propensity.js";

/** An `AnnexmlError` with `code` and exactly `message`. */
function annexmlError(code: string, message: string) {
  return expect.objectContaining({ name: "AnnexmlError", code, message });
}

function labels(rows: number[][], cols = Math.max(0, ...rows.flat()) + 1): LabelMatrix {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((row, r) => {
    indptr[r + 1] = indptr[r] + row.length;
  });
  return { rows: rows.length, cols, indptr, indices: Int32Array.from(rows.flat()) };
}

// Train: N = 5 rows (the last without labels); n_1 = 2, n_2 = 1, n_4 = 2, n_5 = 1.
const TRAIN = parseDataset("5 3 7\n1 0:1\n1,2 0:1\n4 1:1\n4,5 2:1\n 0:1\n").labels;
// Row 0: a score tie (1 and 2) broken by label id; 7 is unknown to training.
// Row 1: no true labels.  Row 2: no predictions.
// Row 3: label 4 listed twice (its last score, 0.5, counts); true label 6 unknown to training.
const RESULT = parseResultFile(
  "1,2\t2:1.0,7:3.0,1:1.0\n\t5:9.0\n3\t\n4,5,6\t4:2.0,9:5.0,4:0.5,6:1.0\n",
);

/** 1 / log2(3), the DCG weight of rank 2. */
const D1 = 0.6309297535714574;

describe("evaluate", () => {
  it("reproduces the reference script on a hand-made file (k = 3)", () => {
    const m = evaluate(RESULT.truth, RESULT.predictions, { k: 3 });
    expect(m.samples).toBe(4);
    expect(m.k).toBe(3);
    // Ranked: row 0 -> 7, 1, 2 (hits at ranks 2, 3); row 3 -> 9, 6, 4 (hits at 2, 3).
    expect(Array.from(m.precision)).toEqual([0, 0.25, 0.3333333333333333]);
    // Figures printed by the reference script (the same file through Python).
    expect(Array.from(m.ndcg)).toEqual([0, 0.19342640361727081, 0.30603691939862854]);
    expect(m.ndcg[1]).toBeCloseTo((2 * D1) / (1 + D1) / 4, 15);
    expect(m.ndcg[2]).toBeCloseTo(((D1 + 0.5) / (1 + D1) + (D1 + 0.5) / (1.5 + D1)) / 4, 15);
  });

  it("takes predictions in the given order, repeats included, with sort: false", () => {
    const m = evaluate(RESULT.truth, RESULT.predictions, { k: 3, sort: false });
    // Row 0 -> 2, 7, 1 (hits at 1, 3); row 3 -> 4, 9, 4 (hits at 1 and, again, 3).
    expect(Array.from(m.precision)).toEqual([0.5, 0.25, 4 / 4 / 3]);
  });

  it("scores a perfect prediction 1 and counts rows without true labels as misses", () => {
    const truth = labels([[0, 3], [], [2]]);
    const predictions: KnnResult = {
      rows: 3,
      k: 2,
      ids: Int32Array.of(3, 0, 1, -1, 2, -1),
      scores: Float32Array.of(2, 1, 5, Number.NaN, 1, Number.NaN),
    };
    const m = evaluate(truth, predictions, { k: 2 });
    expect(Array.from(m.precision)).toEqual([2 / 3, 3 / 3 / 2]);
    expect(Array.from(m.ndcg)).toEqual([2 / 3, 2 / 3]);
  });

  it("defaults to k = 5 and gives NaN over zero rows", () => {
    const m = evaluate(labels([]), {
      rows: 0,
      k: 0,
      ids: new Int32Array(0),
      scores: new Float32Array(0),
    });
    expect(m.k).toBe(5);
    expect(m.samples).toBe(0);
    expect(formatMetrics(m).split("\n")[1]).toBe("P@1=nan");
  });

  it("throws AnnexmlErrors that name the bad value", () => {
    const { truth, predictions } = RESULT;
    expect(() => evaluate(truth, predictions, { k: 0 })).toThrow(
      annexmlError("BAD_OPTION", "k must be a positive integer, but is 0"),
    );
    expect(() => evaluate(truth, predictions, { k: 2.5 })).toThrow(
      "k must be a positive integer, but is 2.5",
    );
    expect(() => evaluate(labels([[1]]), predictions)).toThrow(
      annexmlError("BAD_INPUT", "predictions must have as many rows as truth (1), but have 4"),
    );
    const unsorted: LabelMatrix = {
      rows: 1,
      cols: 5,
      indptr: Int32Array.of(0, 2),
      indices: Int32Array.of(4, 1),
    };
    expect(() =>
      evaluate(unsorted, { rows: 1, k: 0, ids: new Int32Array(0), scores: new Float32Array(0) }),
    ).toThrow(
      annexmlError(
        "BAD_INPUT",
        "truth row 0 must be sorted ascending and unique, but has 1 after 4",
      ),
    );
    const huge: KnnResult = {
      rows: 1,
      k: 1,
      ids: Int32Array.of(2 ** 28),
      scores: Float32Array.of(1),
    };
    expect(() => evaluate(labels([[1]]), huge)).toThrow(
      annexmlError(
        "TOO_LARGE",
        "predicted label ids must be below 268435456 to be ranked (4 bytes of scratch per id), but one is 268435456",
      ),
    );
    expect(evaluate(labels([[1]]), huge, { sort: false }).precision[0]).toBe(0);
    const nan: KnnResult = {
      rows: 1,
      k: 1,
      ids: Int32Array.of(1),
      scores: Float32Array.of(Number.NaN),
    };
    expect(() => evaluate(labels([[1]]), nan)).toThrow(
      annexmlError("BAD_INPUT", "predictions.scores of row 0, entry 0 (label 1) is NaN"),
    );
  });

  it("agrees to the bit with the naive line-by-line port of the scripts", () => {
    const row = fc.record({
      truth: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { maxLength: 8 }),
      // Few distinct scores so that ties and repeated labels are common.
      predictions: fc.array(
        fc.tuple(
          fc.integer({ min: -1, max: 30 }),
          fc.integer({ min: 0, max: 6 }).map((s) => s / 2),
        ),
        { maxLength: 40 },
      ),
    });
    const train = fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 25 }), { maxLength: 5 }), {
      minLength: 1,
      maxLength: 40,
    });
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 25 }),
        train,
        fc.integer({ min: 1, max: 12 }),
        (rows, trainRows, k) => {
          const truth = labels(rows.map((r) => r.truth.sort((a, b) => a - b)));
          const width = Math.max(0, ...rows.map((r) => r.predictions.length));
          const ids = new Int32Array(rows.length * width).fill(-1);
          const scores = new Float32Array(rows.length * width).fill(Number.NaN);
          rows.forEach((r, i) => {
            r.predictions.forEach(([id, s], j) => {
              ids[i * width + j] = id;
              scores[i * width + j] = s;
            });
          });
          const predictions = { rows: rows.length, k: width, ids, scores };
          const trainLabels = labels(trainRows.map((r) => r.sort((a, b) => a - b)));
          const got = {
            ...metricsToJSON(evaluate(truth, predictions, { k })),
            ...metricsToJSON(
              evaluatePropensityScored(truth, predictions, inversePropensities(trainLabels), { k }),
            ),
          };
          const want = naiveEvaluate(truth, predictions, trainLabels, { k });
          // metricsToJSON turns NaN into null.
          for (const key of Object.keys(want))
            if (Number.isNaN(want[key])) (want as Record<string, unknown>)[key] = null;
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("inversePropensities", () => {
  it("follows w = 1 + C (n + B)^-A, C = (ln N - 1)(B + 1)^A, N counting rows without labels", () => {
    const p = inversePropensities(TRAIN);
    expect(p.trainRows).toBe(5);
    expect(p.A).toBe(0.55);
    expect(p.B).toBe(1.5);
    // Python: C = (math.log(5) - 1) * pow(2.5, 0.55) = 1.0087800211364897, then 1 + C * pow(n + 1.5, -0.55).
    expect(p.unseen).toBe(1.8071351855501954);
    expect(Array.from(p.weights)).toEqual([
      1.8071351855501954, // 0: never a label in training
      1.5064762069667912, // n = 2
      1.6094379124341003, // n = 1 (C * 2.5^-0.55 = ln 5 - 1)
      1.8071351855501954, // 3: unseen
      1.5064762069667912,
      1.6094379124341003,
      1.8071351855501954, // 6: within the header's 7 labels, unseen
    ]);
  });

  it("extends the table to numLabels with the unseen weight", () => {
    const p = inversePropensities(TRAIN, { numLabels: 9, A: 0.5, B: 0.4 });
    expect(p.weights.length).toBe(9);
    expect(p.weights[8]).toBe(p.unseen);
    expect(p.unseen).toBeCloseTo(1 + (Math.log(5) - 1) * 1.4 ** 0.5 * 0.4 ** -0.5, 14);
  });

  it("throws AnnexmlErrors that name the bad value", () => {
    expect(() => inversePropensities(TRAIN, { A: -1 })).toThrow(
      annexmlError("BAD_OPTION", "A must be a finite number >= 0, but is -1"),
    );
    expect(() => inversePropensities(TRAIN, { B: 0 })).toThrow(
      annexmlError("BAD_OPTION", "B must be a finite number > 0, but is 0"),
    );
    expect(() => inversePropensities(TRAIN, { numLabels: -2 })).toThrow(
      annexmlError("BAD_OPTION", "numLabels must be a non-negative integer, but is -2"),
    );
    expect(() => inversePropensities(labels([]))).toThrow(
      annexmlError("BAD_INPUT", "trainLabels must have at least one row, but has 0"),
    );
  });
});

describe("evaluatePropensityScored", () => {
  it("reproduces the reference script on a hand-made file, unseen labels included (k = 3)", () => {
    const m = evaluatePropensityScored(
      RESULT.truth,
      RESULT.predictions,
      inversePropensities(TRAIN),
      { k: 3 },
    );
    expect(m.samples).toBe(4);
    // Figures of the script (patched only to give unseen predicted labels the unseen weight).
    expect(Array.from(m.psp)).toEqual([0, 0.507251110066979, 0.7997953433201699]);
    expect(Array.from(m.psndcg)).toEqual([0, 0.38841756861731735, 0.6049690351812793]);
    expect(formatMetrics(m)).toBe(
      "#samples=4\nPSP@1=0.000000\nPSP@2=0.507251\nPSP@3=0.799795\nPSnDCG@1=0.000000\nPSnDCG@2=0.388418\nPSnDCG@3=0.604969\n",
    );
  });

  it("adds rows without predictions to the ideal only with includeUnpredictedRows", () => {
    const p = inversePropensities(TRAIN);
    const base = evaluatePropensityScored(RESULT.truth, RESULT.predictions, p, { k: 3 });
    const m = evaluatePropensityScored(RESULT.truth, RESULT.predictions, p, {
      k: 3,
      includeUnpredictedRows: true,
    });
    // Row 2 (truth {3}, unseen) adds w_3 at rank 1 of the ideal: PSP@k = hits / (ideal + w_3).
    const hits =
      base.psp[2] * (p.weights[1] + p.weights[2] + p.weights[4] + p.weights[5] + p.weights[6]);
    expect(m.psp[2]).toBeCloseTo(
      hits / (p.weights[1] + p.weights[2] + p.weights[4] + p.weights[5] + p.weights[6] + p.unseen),
      14,
    );
    expect(m.psp[2]).toBeLessThan(base.psp[2]);
    expect(m.psp[0]).toBe(0);
  });

  it("validates its options", () => {
    const p = inversePropensities(TRAIN);
    expect(() =>
      evaluatePropensityScored(RESULT.truth, RESULT.predictions, p, {
        includeUnpredictedRows: "yes" as unknown as boolean,
      }),
    ).toThrow(annexmlError("BAD_OPTION", "includeUnpredictedRows must be a boolean, but is yes"));
  });
});
