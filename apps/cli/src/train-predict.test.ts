import { copyFile, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluate } from "@annexml/eval";
import { parseResultFile, readDataset } from "@annexml/sparse-io";
import { beforeAll, describe, expect, it } from "vitest";
import { loadModel, train } from "./api.js";
import { runCli as annexml, CONFIG, ROOT } from "./testing.js";

const TRAIN = join(ROOT, "data/bibtex/train.txt");
const TEST = join(ROOT, "data/bibtex/test.txt");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-train-"));
});

describe("annexml train / predict on bundled bibtex", () => {
  it("reaches the P@1 floor with 3 learners (the original's 2-learner model: 0.581 graph)", async () => {
    const model = join(dir, "quality.model");
    const result = join(dir, "quality.result");
    const files = [`model_file=${model}`, `result_file=${result}`, "num_thread=2", "verbose=0"];
    const t = await annexml(["train", CONFIG, "num_learner=3", ...files]);
    expect(t).toMatchObject({ code: 0, stderr: "" });
    const p = await annexml(["predict", CONFIG, ...files]);
    expect(p).toMatchObject({ code: 0, stderr: "" });
    const { truth, predictions } = parseResultFile(await readFile(result));
    expect(truth.rows).toBe(2515);
    const m = evaluate(truth, predictions, { k: 5 });
    expect(m.precision[0]).toBeGreaterThan(0.575);
    expect(m.precision[2]).toBeGreaterThan(0.34);
    expect(m.precision[4]).toBeGreaterThan(0.245);
  }, 300_000);

  it("gives byte-identical models and results for any num_thread (K = 3 partitions, min-cut)", async () => {
    const small = ["num_learner=2", "emb_iter=1", "cls_iter=2", "cluster_size=1500", "verbose=0"];
    for (const threads of [1, 2]) {
      const files = [
        `model_file=${join(dir, `t${threads}.model`)}`,
        `result_file=${join(dir, `t${threads}.result`)}`,
      ];
      expect(
        (await annexml(["train", CONFIG, ...small, ...files, `num_thread=${threads}`])).code,
      ).toBe(0);
      expect(
        (await annexml(["predict", CONFIG, ...small, ...files, `num_thread=${threads}`])).code,
      ).toBe(0);
    }
    const [m1, m2] = await Promise.all([
      readFile(join(dir, "t1.model")),
      readFile(join(dir, "t2.model")),
    ]);
    expect(m1.equals(m2)).toBe(true);
    const [r1, r2] = await Promise.all([
      readFile(join(dir, "t1.result")),
      readFile(join(dir, "t2.result")),
    ]);
    expect(r1.equals(r2)).toBe(true);
    expect(r1.toString().split("\n")).toHaveLength(2516);

    const info = JSON.parse((await annexml(["info", join(dir, "t1.model"), "--json"])).stdout);
    expect(info).toMatchObject({ origin: "annexml-ts", learners: 2, partitionsPerLearner: [3, 3] });
    expect(info.params).toMatchObject({
      num_learner: 2,
      emb_iter: 1,
      cluster_size: 1500,
      cls_type: 1,
    });
    expect(info.data).toMatchObject({ rows: 4880, features: 1836, labels: 159 });
  }, 300_000);

  it("streams predictions from stdin to stdout, same as files", async () => {
    const model = join(dir, "t1.model");
    const expected = await readFile(join(dir, "t1.result"), "utf8");
    const input = await readFile(TEST, "utf8");
    const p = await annexml(
      ["predict", CONFIG, `model_file=${model}`, "predict_file=-", "result_file=-", "verbose=0"],
      input,
    );
    expect(p.code).toBe(0);
    expect(p.stdout).toBe(expected);
  }, 120_000);

  it("uses fewer learners and another num_edge at predict time when asked", async () => {
    const model = join(dir, "t1.model");
    const result = join(dir, "fewer.result");
    const p = await annexml([
      "predict",
      CONFIG,
      `model_file=${model}`,
      `result_file=${result}`,
      "num_learner=1",
      "num_edge=20",
    ]);
    expect(p.code).toBe(0);
    expect(p.stderr).toMatch(
      /num_edge=20 differs from the model's 50: rebuilding the search graphs in memory/,
    );
    const { predictions } = parseResultFile(await readFile(result));
    expect(predictions.rows).toBe(2515);
  }, 120_000);
});

describe("bad input: one line, non-zero exit, nothing lost", () => {
  it("rejects a missing or malformed config and unknown, mistyped or out-of-range keys", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, '{"emb_size": 50,');
    const cases: [string[], RegExp][] = [
      [["train", join(dir, "none.json")], /cannot read config file \(no such file\)/],
      [["train", bad], /config is not valid JSON/],
      [
        ["train", CONFIG, "emb_sise=3"],
        /unknown parameter 'emb_sise' .*valid parameters: emb_size, num_learner/,
      ],
      [
        ["train", CONFIG, "num_nn=ten"],
        /parameter 'num_nn' in the command line must be an integer, but is "ten"/,
      ],
      [
        ["train", CONFIG, "cls_type=2"],
        /parameter 'cls_type' in the command line must be in \[0, 1\], but is 2/,
      ],
      [["predict", CONFIG, "model_file="], /parameter 'model_file' is required/],
    ];
    for (const [args, message] of cases) {
      const r = await annexml(args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
  });

  it("keeps the previous model when the train file is empty or missing", async () => {
    const model = join(dir, "keep.model");
    await copyFile(join(dir, "t1.model"), model);
    const before = await readFile(model);
    const empty = join(dir, "empty.txt");
    await writeFile(empty, "0 10 5\n");
    for (const trainFile of [empty, join(dir, "missing.txt")]) {
      const r = await annexml([
        "train",
        CONFIG,
        `train_file=${trainFile}`,
        `model_file=${model}`,
        "verbose=0",
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^annexml: .*(the training data has no rows|cannot read file \(no such file\))\n$/,
      );
    }
    expect((await readFile(model)).equals(before)).toBe(true);
  });

  it("names the line of a malformed predict file and keeps the previous result", async () => {
    const input = join(dir, "bad-predict.txt");
    await writeFile(input, "1 1:1\n2 x:1\n");
    const result = join(dir, "keep.result");
    await writeFile(result, "previous\n");
    const r = await annexml([
      "predict",
      CONFIG,
      `model_file=${join(dir, "t1.model")}`,
      `predict_file=${input}`,
      `result_file=${result}`,
      "verbose=0",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `annexml: ${input}:2:3: feature index must be a non-negative integer: "x:1"\n`,
    );
    expect(await readFile(result, "utf8")).toBe("previous\n");
  });

  it("refuses a truncated, corrupted, foreign or future model", async () => {
    const good = await readFile(join(dir, "t1.model"));
    const truncated = join(dir, "truncated.model");
    await writeFile(truncated, good.subarray(0, good.length >> 1));
    const corrupted = join(dir, "corrupted.model");
    const flipped = Buffer.from(good);
    flipped[flipped.length - 100] ^= 0xff;
    await writeFile(corrupted, flipped);
    const future = join(dir, "future.model");
    const newer = Buffer.from(good);
    newer.writeUInt32LE(99, 8);
    await writeFile(future, newer);
    const cases: [string, RegExp][] = [
      [truncated, /truncated model/],
      [corrupted, /corrupted model: section '.*' fails its CRC32 check/],
      [future, /model format version 99 is newer than this annexml reads \(1\)/],
      [TRAIN, /not an annexml model/],
    ];
    for (const [file, message] of cases) {
      const r = await annexml(["info", file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("programmatic API", () => {
  it("trains from in-memory data, predicts, saves and loads the same model", async () => {
    const data = await readDataset(TRAIN);
    const model = await train({ data, num_learner: 1, emb_iter: 2, seed: 7 });
    const test = await readDataset(TEST);
    const before = model.predict(test.features, { k: 5 });
    expect(before.k).toBe(5);
    expect(evaluate(test.labels, before, { k: 1 }).precision[0]).toBeGreaterThan(0.4);
    const path = join(dir, "api.model");
    const bytes = await model.save(path);
    expect((await stat(path)).size).toBe(bytes);
    const loaded = await loadModel(path);
    const after = loaded.predict(test.features, { k: 5 });
    expect(after.ids).toEqual(before.ids);
    expect(after.scores).toEqual(before.scores);
    // predict() must not touch the caller's rows (it normalises a copy).
    expect(test.features.values[0]).toBe(1);
    expect(() => model.predict(test.features, { k: 0 })).toThrowError(
      /k must be a positive integer, but is 0/,
    );
  }, 120_000);

  it("validates options like a config", async () => {
    await expect(train({ train_file: TRAIN, num_learner: 0 })).rejects.toThrowError(
      /parameter 'num_learner' in train options must be in \[1, 1000\], but is 0/,
    );
    await expect(train({})).rejects.toThrowError(/parameter 'train_file' is required/);
  });
});
