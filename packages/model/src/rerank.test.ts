import { readFileSync } from "node:fs";
import { combineScore, type RerankerArrays } from "@annexml/rerank";
import { AnnexmlError, IdLookup, normalizeRows, parseDataset } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { AnnexmlModel } from "./index.js";

// The fixture model of model.test.ts (fixtures/make.sh) with a re-ranker
// of seeded random weights attached: the predictor's re-ranking against a
// scalar reference, and the re-ranker's sections through bytes.
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const FILE = new Uint8Array(readFileSync(fixture("bibtex-1000.model")));
const TEST = parseDataset(readFileSync(fixture("test-100.txt")), { source: "test-100.txt" });

function randomReranker(labels: number, features: number, seed: number): RerankerArrays {
  let s = seed;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const indptr = new Int32Array(labels + 1);
  const indices: number[] = [];
  const weights: number[] = [];
  for (let l = 0; l < labels; l++) {
    for (let f = 0; f < features; f++) {
      if (next() < 0.2) {
        indices.push(f);
        weights.push(4 * next() - 2);
      }
    }
    indptr[l + 1] = indices.length;
  }
  const bias = Float32Array.from({ length: labels }, () => next() - 1);
  return {
    labels,
    features,
    indptr,
    indices: Int32Array.from(indices),
    weights: Float32Array.from(weights),
    bias,
  };
}

function withReranker(model: AnnexmlModel, reranker: RerankerArrays | null): AnnexmlModel {
  const m = new AnnexmlModel(
    model.info,
    model.trainLabels,
    model.learners,
    model.ids,
    model.labelNames,
    reranker,
  );
  m.compact = model.compact;
  return m;
}

const base = AnnexmlModel.fromBytes(FILE.slice());
const features = base.ids.features?.length ?? base.info.data.features;
const reranker = randomReranker(base.trainLabels.cols, features, 12345);
const model = withReranker(base, reranker);

describe("a model with a re-ranker", () => {
  it("re-ranks the vote's shortlist as the scalar reference", () => {
    const C = 20;
    const a = 0.6;
    const votes = model.predict(TEST.features, { k: C, rerankWeight: 0 });
    const got = model.predict(TEST.features, { k: 10, rerankWeight: a, rerankShortlist: C });
    const rows = normalizeRows({ ...TEST.features, values: TEST.features.values.slice() });
    const featureIds = base.ids.features ? new IdLookup(base.ids.features) : null;
    const labelIds = base.ids.labels ? new IdLookup(base.ids.labels) : null;
    let changed = 0;
    for (let r = 0; r < rows.rows; r++) {
      const x = new Map<number, number>();
      for (let p = rows.indptr[r]; p < rows.indptr[r + 1]; p++) {
        const f = featureIds ? featureIds.dense(rows.indices[p]) : rows.indices[p];
        if (f >= 0) x.set(f, rows.values[p]);
      }
      const expected: [number, number][] = [];
      const top = votes.scores[r * C];
      for (let j = 0; j < C; j++) {
        const label = votes.ids[r * C + j];
        if (label < 0) break;
        const dense = labelIds ? labelIds.dense(label) : label;
        let s = reranker.bias[dense];
        for (let p = reranker.indptr[dense]; p < reranker.indptr[dense + 1]; p++)
          s += reranker.weights[p] * (x.get(reranker.indices[p]) ?? 0);
        expected.push([label, combineScore(votes.scores[r * C + j], top, s, a)]);
      }
      expected.sort((u, v) => v[1] - u[1] || u[0] - v[0]);
      const want = expected.slice(0, 10);
      for (let j = 0; j < want.length; j++) {
        expect(got.ids[r * 10 + j], `row ${r} rank ${j}`).toBe(want[j][0]);
        expect(got.scores[r * 10 + j]).toBeCloseTo(want[j][1], 4);
      }
      for (let j = want.length; j < 10; j++) expect(got.ids[r * 10 + j]).toBe(-1);
      if (got.ids[r * 10] !== votes.ids[r * C]) changed++;
    }
    // Random scorers move the top label of many rows.
    expect(changed).toBeGreaterThan(10);
  });

  it("predicts as the model without one at rerankWeight 0", () => {
    const plain = base.predict(TEST.features, { k: 10 });
    const off = model.predict(TEST.features, { k: 10, rerankWeight: 0 });
    expect(off.ids).toEqual(plain.ids);
    expect(off.scores).toEqual(plain.scores);
  });

  it("keeps the re-ranker through bytes (f16 weights when compact), and a model without one unchanged", () => {
    const back = AnnexmlModel.fromBytes(model.toBytes({ compact: "none" }));
    expect(back.reranker).toEqual(reranker);
    const f16 = AnnexmlModel.fromBytes(model.toBytes({ compact: "f16" }));
    const w = f16.reranker?.weights ?? new Float32Array(0);
    expect(w.length).toBe(reranker.weights.length);
    for (let p = 0; p < w.length; p += 97) expect(w[p]).toBeCloseTo(reranker.weights[p], 2);
    expect(
      Buffer.from(withReranker(base, null).toBytes()).equals(Buffer.from(base.toBytes())),
    ).toBe(true);
  });

  it("re-ranks at weight 0.5 by default, not at 0 nor without a re-ranker", () => {
    expect(model.predictSettings().rerank).toEqual({ weight: 0.5, shortlist: 10 });
    expect(model.predictSettings({ rerankWeight: 0.3 }).rerank?.weight).toBe(0.3);
    expect(model.predictSettings({ rerankWeight: 0 }).rerank).toBeUndefined();
    expect(base.predictSettings({ rerankWeight: 0.3 }).rerank).toBeUndefined();
  });

  it("refuses a re-ranker of another label count, and a bad re-ranker option", () => {
    const bad = withReranker(base, randomReranker(base.trainLabels.cols + 1, features, 1));
    expect(() => AnnexmlModel.fromBytes(bad.toBytes())).toThrow(
      expect.objectContaining({ code: "BAD_FORMAT" }),
    );
    expect(() => model.predict(TEST.features, { rerankWeight: 1.5 })).toThrow(AnnexmlError);
    expect(() => model.predict(TEST.features, { rerankShortlist: 0 })).toThrow(
      /rerank_shortlist|rerankShortlist/,
    );
  });
});

describe("a model trained on sparse feature ids", () => {
  it("predicts the dense model's labels and scores, re-ranked or not, batch and row by row", () => {
    expect(base.ids.features).toBeUndefined();
    // Original id 3f + 7 for dense id f; 3f + 8 is unknown to the model.
    const map = Int32Array.from({ length: features }, (_, f) => 3 * f + 7);
    const { indptr, indices, values } = TEST.features;
    const sparseIndptr = new Int32Array(indptr.length);
    const sparseIndices: number[] = [];
    const sparseValues: number[] = [];
    for (let r = 0; r < TEST.features.rows; r++) {
      for (let p = indptr[r]; p < indptr[r + 1]; p++) {
        sparseIndices.push(map[indices[p]], map[indices[p]] + 1);
        // A zero keeps the row's norm: dropping the unknown feature changes nothing.
        sparseValues.push(values[p], 0);
      }
      sparseIndptr[r + 1] = sparseIndices.length;
    }
    const rows = {
      rows: TEST.features.rows,
      cols: 3 * features + 8,
      indptr: sparseIndptr,
      indices: Int32Array.from(sparseIndices),
      values: Float32Array.from(sparseValues),
    };
    for (const dense of [base, model]) {
      const sparse = new AnnexmlModel(
        dense.info,
        dense.trainLabels,
        dense.learners,
        { ...dense.ids, features: map },
        dense.labelNames,
        dense.reranker,
      );
      sparse.compact = dense.compact;
      const want = dense.predict(TEST.features, { k: 10 });
      const got = sparse.predict(rows, { k: 10 });
      expect(got.ids).toEqual(want.ids);
      expect(got.scores).toEqual(want.scores);
      const one = sparse.predictor({ k: 10 });
      for (let r = 0; r < rows.rows; r++) {
        const row = one.predictRow(
          rows.indices.subarray(rows.indptr[r], rows.indptr[r + 1]),
          rows.values.subarray(rows.indptr[r], rows.indptr[r + 1]),
        );
        const n = row.labels.length;
        expect(row.labels, `row ${r}`).toEqual(want.ids.subarray(r * 10, r * 10 + n));
        expect(row.scores).toEqual(want.scores.subarray(r * 10, r * 10 + n));
        if (n < 10) expect(want.ids[r * 10 + n]).toBe(-1);
      }
    }
  });
});
