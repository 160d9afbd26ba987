import { join } from "node:path";
import type { IndexArrays } from "@annexml/ann-search";
import { inversePropensities } from "@annexml/eval";
import {
  DEFAULT_VOTE_SETTINGS,
  type LearnerArrays,
  Predictor,
  type VoteSettings,
  validatePredictOptions,
} from "@annexml/model";
import { AnnexmlError, type CsrMatrix, type KnnResult, readDataset } from "@annexml/sparse-io";
import { describe, expect, it, vi } from "vitest";
import { train } from "../api.js";
import { ROOT } from "../testing.js";

// A hand-built model: 3 features embedded in 2 dimensions (stride 4), one
// partition per learner, training rows as unit vectors at known angles.
const FEATURE_DIRECTIONS = [
  [1, 0],
  [0, 1],
  [0.6, 0.8],
];
/** Per learner: its training rows (global ids) and their angles in degrees. */
const LEARNERS: { rows: number[]; angles: number[] }[] = [
  { rows: [0, 1, 2, 3, 4, 5], angles: [10, 35, 61, 83, 122, 170] },
  { rows: [0, 2, 3, 5], angles: [21, 52, 95, 151] },
  { rows: [1, 3, 4], angles: [-15, 44, 73] },
];
/** Label sets of the 6 training rows (5 labels). */
const LABELS = [[0, 1], [1], [2], [2, 3], [3, 4], [0, 3]];
/** Query rows: dense values of the 3 features (normalised below). */
const QUERIES = [
  [1, 0, 0],
  [1, 1, 0],
  [0, 1, 1],
  [0.2, 0, 1],
  [0, 1, 0],
];

const trainLabels = {
  rows: LABELS.length,
  cols: 5,
  indptr: Int32Array.from([0, ...LABELS.map((_, i) => LABELS.slice(0, i + 1).flat().length)]),
  indices: Int32Array.from(LABELS.flat()),
};

function unit(angle: number): [number, number] {
  const a = (angle * Math.PI) / 180;
  return [Math.cos(a), Math.sin(a)];
}

function handModel(): LearnerArrays[] {
  const weights = new Float32Array(3 * 4);
  FEATURE_DIRECTIONS.forEach(([x, y], f) => {
    weights[f * 4] = x;
    weights[f * 4 + 1] = y;
  });
  return LEARNERS.map(({ rows, angles }) => {
    const embeddings = new Float32Array(rows.length * 4);
    for (let i = 0; i < angles.length; i++) embeddings.set(unit(angles[i]), i * 4);
    return {
      partition: {
        k: 1,
        numFeatures: 3,
        featurePtr: new Int32Array(4),
        partitions: new Int32Array(0),
        weights: new Float32Array(0),
      },
      parts: [
        {
          rows: Int32Array.from(rows),
          embedding: {
            embSize: 2,
            stride: 4,
            rows: rows.length,
            featureIds: Int32Array.from([0, 1, 2]),
            weights,
            embeddings,
          },
          // Brute-force search builds its index from the embeddings.
          index: {} as IndexArrays,
        },
      ],
    };
  });
}

function queryMatrix(): CsrMatrix {
  const indptr = [0];
  const indices: number[] = [];
  const values: number[] = [];
  for (const q of QUERIES) {
    const norm = Math.hypot(...q);
    q.forEach((v, f) => {
      if (v !== 0) {
        indices.push(f);
        values.push(v / norm);
      }
    });
    indptr.push(indices.length);
  }
  return {
    rows: QUERIES.length,
    cols: 3,
    indptr: Int32Array.from(indptr),
    indices: Int32Array.from(indices),
    values: Float32Array.from(values),
  };
}

/** The scalar reference of the voting: plain loops in double, one row at a time. */
function reference(k: number, learners: number, vote: VoteSettings, topK: number) {
  const boost = inversePropensities(trainLabels).weights;
  return QUERIES.map((q) => {
    const z = [0, 0];
    q.forEach((v, f) => {
      z[0] += v * FEATURE_DIRECTIONS[f][0];
      z[1] += v * FEATURE_DIRECTIONS[f][1];
    });
    const zn = Math.hypot(z[0], z[1]);
    const rowWeight = new Map<number, number[]>();
    for (const { rows, angles } of LEARNERS.slice(0, learners)) {
      const found = angles
        .map((a, i) => {
          const [x, y] = unit(a);
          return { row: rows[i], sim: (x * z[0] + y * z[1]) / zn, i };
        })
        .sort((a, b) => b.sim - a.sim || a.i - b.i)
        .slice(0, k);
      const w = found.map(
        ({ sim }) => Math.max(sim, 0) ** vote.power * Math.exp(vote.beta * (sim - 1)),
      );
      const total = w.reduce((a, b) => a + b, 0);
      const top = Math.max(...w);
      const scale =
        vote.learnerNorm === "sum"
          ? total > 0
            ? 1 / total
            : 0
          : vote.learnerNorm === "max"
            ? top > 0
              ? 1 / top
              : 0
            : 1;
      found.forEach(({ row }, j) => {
        const list = rowWeight.get(row) ?? [];
        list.push(w[j] * scale);
        rowWeight.set(row, list);
      });
    }
    const scores = new Map<number, number>();
    for (const [row, list] of rowWeight) {
      const v =
        vote.merge === "max"
          ? Math.max(...list)
          : vote.merge === "mean"
            ? list.reduce((a, b) => a + b, 0) / list.length
            : list.reduce((a, b) => a + b, 0);
      if (v === 0) continue;
      for (const label of LABELS[row]) scores.set(label, (scores.get(label) ?? 0) + v);
    }
    return [...scores]
      .map(([label, s]) => [label, vote.propensity ? s * boost[label] ** vote.propensity : s])
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, topK);
  });
}

function predict(k: number, learners: number, vote: Partial<VoteSettings>, topK = 4): KnnResult {
  const predictor = new Predictor(trainLabels, handModel(), {
    numLearners: learners,
    numNeighbours: k,
    search: "bruteForce",
    searchEps: 0,
    topK,
    vote,
  });
  const rows = QUERIES.length;
  const out = {
    rows,
    k: topK,
    ids: new Int32Array(rows * topK),
    scores: new Float32Array(rows * topK),
  };
  predictor.predictInto(queryMatrix(), out);
  return out;
}

const CASES: Partial<VoteSettings>[] = [
  {},
  { power: 1 },
  { power: 3 },
  { beta: 5 },
  { power: 2, beta: 3 },
  { learnerNorm: "sum" },
  { learnerNorm: "sum", power: 2 },
  { learnerNorm: "max", beta: 4 },
  { merge: "max" },
  { merge: "mean", power: 1 },
  { merge: "max", beta: 10, learnerNorm: "sum" },
  { propensity: 1 },
  { propensity: 0.5, beta: 2 },
];

describe("Predictor voting against a scalar reference (hand-built model, brute force)", () => {
  for (const vote of CASES) {
    for (const [k, learners] of [
      [2, 3],
      [3, 2],
      [4, 3],
    ]) {
      it(`votes as the reference: ${JSON.stringify(vote)}, k=${k}, ${learners} learners`, () => {
        const got = predict(k, learners, vote);
        const want = reference(k, learners, { ...DEFAULT_VOTE_SETTINGS, ...vote }, 4);
        want.forEach((row, r) => {
          for (let j = 0; j < 4; j++) {
            const at = r * 4 + j;
            if (j >= row.length) {
              expect(got.ids[at]).toBe(-1);
              continue;
            }
            expect(got.ids[at], `row ${r} rank ${j}`).toBe(row[j][0]);
            expect(got.scores[at]).toBeCloseTo(row[j][1], 5);
          }
        });
      });
    }
  }

  it("gives integer votes by default, exactly the reference's (one vote per neighbour and learner)", () => {
    const got = predict(3, 3, {});
    const explicit = predict(3, 3, { ...DEFAULT_VOTE_SETTINGS });
    expect(explicit.ids).toEqual(got.ids);
    expect(explicit.scores).toEqual(got.scores);
    const want = reference(3, 3, DEFAULT_VOTE_SETTINGS, 4);
    want.forEach((row, r) => {
      row.forEach(([label, score], j) => {
        expect(got.ids[r * 4 + j]).toBe(label);
        expect(got.scores[r * 4 + j]).toBe(score);
        expect(Number.isInteger(score)).toBe(true);
      });
    });
  });

  it("drops neighbours of zero weight (similarity <= 0 with a power)", () => {
    // Query 0 (0 degrees) against learner 1's k = 4 rows: 151 degrees has a negative cosine.
    const got = predict(4, 2, { power: 1 });
    const labels = [...got.ids.subarray(0, 4)];
    const plain = predict(4, 2, {});
    expect(labels).not.toEqual([...plain.ids.subarray(0, 4)]);
  });
});

describe("voting options on a trained model", () => {
  it("each option changes the predictions; the defaults change nothing", async () => {
    const data = await readDataset(join(ROOT, "data/bibtex/train.txt"));
    const test = await readDataset(join(ROOT, "data/bibtex/test.txt"));
    const model = await train({
      data,
      numLearners: 3,
      embIters: 1,
      partitionerIters: 1,
      clusterSize: 1500,
      seed: 11,
    });
    const rows = {
      ...test.features,
      rows: 300,
      indptr: test.features.indptr.subarray(0, 301),
    };
    const plain = model.predict(rows);
    const defaults = model.predict(rows, {
      votePower: 0,
      voteBeta: 0,
      learnerNorm: "none",
      voteMerge: "sum",
      votePropensity: 0,
    });
    expect(defaults.ids).toEqual(plain.ids);
    expect(defaults.scores).toEqual(plain.scores);
    for (const options of [
      { votePower: 2 },
      { voteBeta: 10 },
      { learnerNorm: "sum" as const },
      { learnerNorm: "max" as const, voteBeta: 5 },
      { voteMerge: "max" as const },
      { voteMerge: "mean" as const },
      { votePropensity: 0.5 },
    ]) {
      const p = model.predict(rows, options);
      expect(p.scores, JSON.stringify(options)).not.toEqual(plain.scores);
    }
    // Ranking changes too (not only the scale) for the weighted votes and the propensities.
    expect(model.predict(rows, { voteBeta: 10 }).ids).not.toEqual(plain.ids);
    expect(model.predict(rows, { votePropensity: 1 }).ids).not.toEqual(plain.ids);
  }, 120_000);
});

describe("the reusable predictor", () => {
  it("predictRow gives exactly model.predict's labels and scores, row by row, for any k", async () => {
    const data = await readDataset(join(ROOT, "data/bibtex/train.txt"));
    const test = await readDataset(join(ROOT, "data/bibtex/test.txt"));
    const model = await train({ data, numLearners: 3, embIters: 1, clusterSize: 1500, seed: 5 });
    const batch = model.predict(test.features, { k: 10, votePower: 1 });
    const predictor = model.predictor({ k: 10, votePower: 1 });
    const { indptr, indices, values } = test.features;
    for (let r = 0; r < test.features.rows; r++) {
      // Raw rows (predictRow normalises a copy): the caller's arrays are kept.
      const i = indices.subarray(indptr[r], indptr[r + 1]);
      const v = values.subarray(indptr[r], indptr[r + 1]);
      const before = v.slice();
      const row = predictor.predictRow(i, v);
      expect(v).toEqual(before);
      let n = 0;
      while (n < 10 && batch.ids[r * 10 + n] >= 0) n++;
      expect(row.labels, `row ${r}`).toEqual(batch.ids.subarray(r * 10, r * 10 + n));
      expect(row.scores, `row ${r}`).toEqual(batch.scores.subarray(r * 10, r * 10 + n));
      if (r % 50 === 0) {
        // A smaller k is the head of the list; plain arrays work as well as typed ones.
        const three = predictor.predictRow(Array.from(i), Array.from(v), 3);
        expect(three.labels).toEqual(row.labels.subarray(0, 3));
        expect(three.scores).toEqual(row.scores.subarray(0, 3));
      }
    }
    expect(predictor.predictRow([], []).labels.length).toBe(0);
  }, 120_000);

  it("model.predict builds its predictor once per options, not per call", async () => {
    const data = await readDataset(join(ROOT, "data/bibtex/train.txt"));
    const model = await train({ data, numLearners: 2, embIters: 1, clusterSize: 1500 });
    const rows = { ...data.features, rows: 20, indptr: data.features.indptr.subarray(0, 21) };
    const built = vi.spyOn(model, "predictor");
    const first = model.predict(rows, { k: 5 });
    expect(model.predict(rows, { k: 5 })).toEqual(first);
    model.predict(rows, { k: 5 });
    expect(built).toHaveBeenCalledTimes(1);
    model.predict(rows, { k: 4 });
    expect(built).toHaveBeenCalledTimes(2);
  }, 120_000);

  it("predictRow refuses bad rows and k, naming the position", async () => {
    const data = await readDataset(join(ROOT, "data/bibtex/train.txt"));
    const model = await train({ data, numLearners: 1, embIters: 1, clusterSize: 100000 });
    const p = model.predictor();
    const cases: [() => unknown, string, RegExp][] = [
      [() => p.predictRow([3, 2], [1, 1]), "BAD_INPUT", /index 2 at position 1/],
      [() => p.predictRow([3, 3], [1, 1]), "BAD_INPUT", /index 3 at position 1/],
      [() => p.predictRow([-1], [1]), "BAD_INPUT", /index -1 at position 0/],
      [() => p.predictRow([1.5], [1]), "BAD_INPUT", /index 1.5 at position 0/],
      [() => p.predictRow([1, 2], [1, Number.NaN]), "BAD_INPUT", /value NaN at position 1/],
      [() => p.predictRow([1, 2], [1]), "BAD_INPUT", /same length, but has 2 and 1/],
      [() => p.predictRow([1], [1], 0), "BAD_OPTION", /option 'k' of predictRow .* but is 0/],
    ];
    for (const [run, code, message] of cases) {
      let error: unknown;
      try {
        run();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AnnexmlError);
      expect(error).toMatchObject({ code });
      expect((error as Error).message).toMatch(message);
    }
    // Still usable after a refusal.
    const after = p.predictRow([1, 5], [1, 1]);
    expect(after.labels.length).toBeGreaterThan(0);
    expect(after).toEqual(model.predictor().predictRow([1, 5], [1, 1]));
  }, 120_000);
});

describe("validatePredictOptions of the voting", () => {
  it("rejects bad values with BAD_OPTION naming the option and value", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ votePower: -1 }, /^option 'votePower' of predict must be in \[0, 1000\], but is -1$/],
      [{ votePower: "2" }, /^option 'votePower' of predict must be a number, but is "2"$/],
      [
        { voteBeta: Number.NaN },
        /^option 'voteBeta' of predict must be in \[0, 1000\], but is NaN$/,
      ],
      [
        { learnerNorm: "l2" },
        /^option 'learnerNorm' of predict must be "none" or "sum" or "max", but is "l2"$/,
      ],
      [
        { voteMerge: 1 },
        /^option 'voteMerge' of predict must be "sum" or "max" or "mean", but is 1$/,
      ],
      [
        { votePropensity: 11 },
        /^option 'votePropensity' of predict must be in \[0, 10\], but is 11$/,
      ],
      [{ vote_power: 1 }, /the config key 'vote_power' is 'votePower' here/],
    ];
    for (const [options, message] of cases) {
      let error: unknown = null;
      try {
        validatePredictOptions(options);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(AnnexmlError);
      expect(error).toMatchObject({ code: "BAD_OPTION" });
      expect((error as Error).message).toMatch(message);
    }
    expect(validatePredictOptions({ votePower: 2, learnerNorm: "max", voteMerge: "mean" })).toEqual(
      { votePower: 2, learnerNorm: "max", voteMerge: "mean" },
    );
  });
});
