import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { normalizeRows, readDataset } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { train } from "../api.js";
import { readModelFile, saveModel } from "../model/files.js";
import { ROOT } from "../testing.js";
import { createPredictRunner, type PredictRunner, startPredictWorkers } from "./runner.js";

describe("prediction from a model read into a shared WebAssembly memory", () => {
  it("2 worker threads read its one copy of the vectors and graphs (in leaf order), and predict exactly as a plain load", async () => {
    const data = await readDataset(join(ROOT, "data/bibtex/train.txt"));
    const test = await readDataset(join(ROOT, "data/bibtex/test.txt"), { shared: true });
    const trained = await train({
      data,
      numLearners: 2,
      embIters: 1,
      partitionerIters: 1,
      clusterSize: 1500,
      seed: 5,
    });
    const path = join(await mkdtemp(join(tmpdir(), "annexml-shared-")), "m.model");
    const size = await saveModel(trained, path);
    const plain = (await readModelFile(path)).model;
    const shared = (await readModelFile(path, { shared: true, memory: true })).model;
    const memory = shared.modelMemory();
    expect(plain.modelMemory()).toBeNull();
    expect(memory?.resident).toEqual(shared.learners.map((l) => l.parts.map(() => true)));
    const start = memory?.memory.buffer.byteLength ?? 0;
    expect(start).toBe(Math.ceil(size / 65536) * 65536); // the file, nothing more yet

    normalizeRows(test.features);
    const rows = test.features.rows;
    const want = {
      rows,
      k: 10,
      ids: new Int32Array(rows * 10),
      scores: new Float32Array(rows * 10),
    };
    plain.predictor().predictInto(test.features, want);

    shared.layOutForSearch(); // as annexml predict does
    expect(shared.modelMemory()?.leafOrdered).toBe(true);
    // Six pieces at once: both workers build their predictor.
    const pieces = Array.from(
      { length: 6 },
      (_, i) => [Math.floor((i * rows) / 6), Math.floor(((i + 1) * rows) / 6)] as const,
    );
    const predictsAsPlain = async (runner: PredictRunner) => {
      try {
        const got = await Promise.all(pieces.map(([a, b]) => runner.predict(test.features, a, b)));
        const ids = new Int32Array(rows * 10);
        const scores = new Float32Array(rows * 10);
        pieces.forEach(([a], i) => {
          ids.set(got[i].ids, a * 10);
          scores.set(got[i].scores, a * 10);
        });
        expect(Buffer.from(ids.buffer).equals(Buffer.from(want.ids.buffer))).toBe(true);
        expect(Buffer.from(scores.buffer).equals(Buffer.from(want.scores.buffer))).toBe(true);
      } finally {
        await runner.close();
      }
    };
    await predictsAsPlain(createPredictRunner(shared, {}, 2));
    // Each worker appended only its scratch (in 1 MiB chunks) to the memory,
    // and no worker copied the rows: the memory grew by less than a copy.
    const grown = (memory?.memory.buffer.byteLength ?? 0) - start;
    expect(grown).toBeGreaterThanOrEqual(2 * 2 ** 20);
    expect(grown).toBeLessThan(size / 2);
    // Workers started before the model was read (as annexml predict does):
    // the model goes with each task; a model not on shared memory gets a
    // new pool instead.
    await predictsAsPlain(createPredictRunner(shared, {}, 2, startPredictWorkers(2)));
    await predictsAsPlain(createPredictRunner(plain, {}, 2, startPredictWorkers(2)));
  }, 300_000);
});
