import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnnexmlError, readDataset } from "@annexml/sparse-io";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyOverrides, defaultParams } from "../config.js";
import { saveModel } from "../model/files.js";
import { ROOT } from "../testing.js";
import {
  checkMemory,
  type DataSizes,
  dataSizes,
  estimateTraining,
  formatEstimate,
} from "./estimate.js";
import { trainModel } from "./trainer.js";

const BIBTEX: DataSizes = { rows: 4880, features: 1836, labels: 159, nnz: 334250, labelNnz: 11616 };
const params = (...args: string[]) => applyOverrides(defaultParams(), ["num_thread=1", ...args]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-estimate-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("estimateTraining", () => {
  it("grows with num_learner, emb_size and num_thread, and its terms sum to the totals", () => {
    const at = (...args: string[]) => estimateTraining(BIBTEX, params(...args));
    for (const [name, values] of [
      ["num_learner", [1, 5, 15, 50]],
      ["emb_size", [8, 50, 100, 400]],
      ["num_thread", [1, 2, 4]],
    ] as const) {
      const peaks = values.map((v) => at(`${name}=${v}`).peakBytes);
      for (let i = 1; i < peaks.length; i++) expect(peaks[i]).toBeGreaterThan(peaks[i - 1]);
    }
    for (const [name, values] of [
      ["num_learner", [1, 5, 15]],
      ["emb_size", [8, 50, 100]],
    ] as const) {
      const models = values.map((v) => at(`${name}=${v}`).modelBytes);
      for (let i = 1; i < models.length; i++) expect(models[i]).toBeGreaterThan(models[i - 1]);
    }
    const e = at("cluster_size=1500");
    expect(e.partitions).toBe(3);
    const total = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);
    expect(total(e.peakTerms)).toBeCloseTo(e.peakBytes, 0);
    expect(total(e.modelTerms)).toBeCloseTo(e.modelBytes, 0);
    // The model is held in memory until written: the peak includes it.
    expect(e.peakBytes).toBeGreaterThan(e.modelBytes + 55 * 2 ** 20);
  });

  it("counts distinct ids, not the largest id (a huge id costs nothing)", () => {
    const features = {
      rows: 2,
      cols: 2 ** 31 - 1,
      indptr: Int32Array.of(0, 1, 2),
      indices: Int32Array.of(2 ** 31 - 2, 5),
      values: Float32Array.of(1, 1),
    };
    const labels = {
      rows: 2,
      cols: 3,
      indptr: Int32Array.of(0, 1, 2),
      indices: Int32Array.of(1, 2),
    };
    const sizes = dataSizes(features, labels);
    expect({ ...sizes, featureRows: Array.from(sizes.featureRows ?? []) }).toEqual({
      rows: 2,
      features: 2,
      labels: 2,
      nnz: 2,
      labelNnz: 2,
      featureRows: [1, 1],
    });
    expect(estimateTraining(sizes, params()).peakBytes).toBeLessThan(100 * 2 ** 20);
  });

  it("prints the peak, the model size and their main terms", () => {
    const lines = formatEstimate(estimateTraining(BIBTEX, params()));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^Estimated peak memory: \d+ MB \(nodeBaseline \d+ MB, .*model \d+ MB/,
    );
    expect(lines[1]).toMatch(/^Estimated model size: [\d.]+ MB \(.*unitEmbeddings \d+ MB/);
  });
});

describe("checkMemory", () => {
  it("throws a one-line TOO_LARGE error naming the estimate and what to change when max_memory is below it", () => {
    const p = params("max_memory=10");
    const e = estimateTraining(BIBTEX, p);
    let error: unknown;
    try {
      checkMemory(e, p);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AnnexmlError);
    const { code, message } = error as AnnexmlError;
    expect(code).toBe("TOO_LARGE");
    expect(message).not.toContain("\n");
    expect(message).toContain(`${(e.peakBytes / 2 ** 20).toFixed(0)} MB`);
    expect(message).toContain("max_memory=10");
    for (const name of ["num_learner", "emb_size", "cluster_size", "num_thread"]) {
      expect(message).toContain(name);
    }
  });

  it("passes under max_memory, and against the available memory when max_memory is 0", () => {
    const e = estimateTraining(BIBTEX, params());
    const mb = Math.ceil(e.peakBytes / 2 ** 20);
    expect(() => checkMemory(e, params(`max_memory=${mb}`))).not.toThrow();
    expect(() => checkMemory(e, params("max_memory=0"), e.peakBytes)).not.toThrow();
    expect(() => checkMemory(e, params("max_memory=0"), e.peakBytes - 1)).toThrow(
      /available memory/,
    );
  });
});

describe("trainModel", () => {
  it("refuses to train when max_memory is below the estimate, before any task runs", async () => {
    const p = params(
      `train_file=${join(ROOT, "data/bibtex/train.txt")}`,
      "max_memory=20",
      "verbose=0",
    );
    const started = performance.now();
    await expect(trainModel(p)).rejects.toMatchObject({
      name: "AnnexmlError",
      code: "TOO_LARGE",
      message: expect.stringMatching(/needs an estimated \d+ MB .* max_memory=20/),
    });
    // Training bibtex takes tens of seconds; reading it and refusing, well under that.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe("the model-size estimate", () => {
  it("is within 5% of a saved model (bibtex, 2 learners, K = 3 partitions)", async () => {
    const p = params(
      `train_file=${join(ROOT, "data/bibtex/train.txt")}`,
      "num_learner=2",
      "emb_iter=1",
      "cls_iter=1",
      "cluster_size=1500",
      "verbose=0",
    );
    const data = await readDataset(p.train_file);
    const estimate = estimateTraining(dataSizes(data.features, data.labels), p);
    const { model } = await trainModel(p);
    const file = join(dir, "small.model");
    const bytes = await saveModel(model, file);
    expect((await stat(file)).size).toBe(bytes);
    expect(Math.abs(estimate.modelBytes / bytes - 1)).toBeLessThan(0.05);
  }, 120_000);
});
