import { copyFile, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluate } from "@annexml/eval";
import { AnnexmlError, parseResultFile, readDataset } from "@annexml/sparse-io";
import { beforeAll, describe, expect, it } from "vitest";
import { loadModel, train } from "./api.js";
import { ownTrainingData } from "./engine/tasks.js";
import { describeError, UsageError } from "./errors.js";
import { saveModel } from "./model/files.js";
import { runCli as annexml, CONFIG, ROOT } from "./testing.js";

const TRAIN = join(ROOT, "data/bibtex/train.txt");
const TEST = join(ROOT, "data/bibtex/test.txt");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-train-"));
});

/** The small model's options: 2 learners of K = 3 min-cut partitions, short training. */
const SMALL = ["num_learner=2", "emb_iter=1", "cls_iter=2", "cluster_size=1500", "verbose=0"];

let small: Promise<{ model: string; result: string }> | undefined;

/**
 * The small model trained with one thread and its predictions of the test
 * file: built once, by whichever test asks first (so any test runs alone).
 */
function smallModel(): Promise<{ model: string; result: string }> {
  small ??= (async () => {
    const files = [`model_file=${join(dir, "t1.model")}`, `result_file=${join(dir, "t1.result")}`];
    for (const command of ["train", "predict"]) {
      const r = await annexml([command, CONFIG, ...SMALL, ...files, "num_thread=1"]);
      if (r.code !== 0) throw new Error(`annexml ${command} failed (${r.code}): ${r.stderr}`);
    }
    return { model: join(dir, "t1.model"), result: join(dir, "t1.result") };
  })();
  return small;
}

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
    const one = await smallModel();
    const files = [`model_file=${join(dir, "t2.model")}`, `result_file=${join(dir, "t2.result")}`];
    for (const command of ["train", "predict"]) {
      expect((await annexml([command, CONFIG, ...SMALL, ...files, "num_thread=2"])).code).toBe(0);
    }
    const [m1, m2] = await Promise.all([readFile(one.model), readFile(join(dir, "t2.model"))]);
    expect(m1.equals(m2)).toBe(true);
    const [r1, r2] = await Promise.all([readFile(one.result), readFile(join(dir, "t2.result"))]);
    expect(r1.equals(r2)).toBe(true);
    expect(r1.toString().split("\n")).toHaveLength(2516);

    const info = JSON.parse((await annexml(["info", one.model, "--json"])).stdout);
    expect(info).toMatchObject({ origin: "annexml-ts", learners: 2, partitionsPerLearner: [3, 3] });
    expect(info.params).toMatchObject({
      num_learner: 2,
      emb_iter: 1,
      cluster_size: 1500,
      cls_type: 1,
    });
    expect(info.data).toMatchObject({ rows: 4880, features: 1836, labels: 159 });
  }, 300_000);

  it("adagrad_rsqrt: 1 (default) and 0 give other models, recorded in their params, each byte-identical for any num_thread", async () => {
    const approx = await smallModel(); // the default, num_thread=1
    const train = async (name: string, ...extra: string[]) => {
      const model = join(dir, name);
      const r = await annexml(["train", CONFIG, ...SMALL, `model_file=${model}`, ...extra]);
      expect(r.code).toBe(0);
      return model;
    };
    const models = [
      approx.model,
      await train("rsqrt1-2.model", "adagrad_rsqrt=1", "num_thread=2"),
      await train("rsqrt0-1.model", "adagrad_rsqrt=0", "num_thread=1"),
      await train("rsqrt0-2.model", "adagrad_rsqrt=0", "num_thread=2"),
    ];
    const [a1, a2, e1, e2] = await Promise.all(models.map((m) => readFile(m)));
    expect(a1.equals(a2)).toBe(true);
    expect(e1.equals(e2)).toBe(true);
    expect(a1.equals(e1)).toBe(false);
    const params = async (m: string) =>
      JSON.parse((await annexml(["info", m, "--json"])).stdout).params;
    expect(await params(models[0])).toMatchObject({ adagrad_rsqrt: 1, anchor_step: 1 });
    expect(await params(models[2])).toMatchObject({ adagrad_rsqrt: 0 });
  }, 300_000);

  it("streams the model to disk as it trains: the same bytes as saving the API's model", async () => {
    const one = await smallModel();
    const model = await train({
      trainFile: TRAIN,
      numLearners: 2,
      embIters: 1,
      partitionerIters: 2,
      clusterSize: 1500,
      seed: 0,
    });
    const saved = join(dir, "api.model");
    await saveModel(model, saved);
    const [streamed, fromMemory] = await Promise.all([readFile(one.model), readFile(saved)]);
    expect(streamed.equals(fromMemory)).toBe(true);
    // Compact storage streams the same way.
    const f16 = join(dir, "streamed-f16.model");
    const t = await annexml(["train", CONFIG, ...SMALL, `model_file=${f16}`, "compact=f16"]);
    expect(t.code).toBe(0);
    await saveModel(model, saved, { compact: "f16" });
    expect((await readFile(f16)).equals(await readFile(saved))).toBe(true);
  }, 300_000);

  it("trains a tree partitioner (cls_type=2, K = 24 > 16: a two-level tree), the same for any num_thread", async () => {
    const tree = ["num_learner=1", "emb_iter=1", "cls_iter=2", "cluster_size=200", "cls_type=2"];
    const models = [join(dir, "tree1.model"), join(dir, "tree2.model")];
    for (const [i, model] of models.entries()) {
      const r = await annexml([
        "train",
        CONFIG,
        ...tree,
        `model_file=${model}`,
        `num_thread=${i + 1}`,
        "verbose=0",
      ]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
    }
    const [m1, m2] = await Promise.all(models.map((m) => readFile(m)));
    expect(m1.equals(m2)).toBe(true);
    const result = join(dir, "tree.result");
    const p = await annexml([
      "predict",
      CONFIG,
      `model_file=${models[0]}`,
      `result_file=${result}`,
      "verbose=0",
    ]);
    expect(p).toMatchObject({ code: 0, stderr: "" });
    const { truth, predictions } = parseResultFile(await readFile(result));
    expect(evaluate(truth, predictions, { k: 5 }).precision[0]).toBeGreaterThan(0.45);
    const info = JSON.parse((await annexml(["info", models[0], "--json"])).stdout);
    expect(info).toMatchObject({ partitionsPerLearner: [24] });
    expect(info.params).toMatchObject({ cls_type: 2 });
  }, 300_000);

  it("bounds the partitions with cls_balance (K = 6 min-cuts within 1.2 N / K rows), stores the biases (format 3), the same for any num_thread", async () => {
    const balanced = ["num_learner=1", "emb_iter=1", "cls_iter=2", "cluster_size=800"];
    const models = [join(dir, "free.model"), join(dir, "bal1.model"), join(dir, "bal2.model")];
    for (const [i, model] of models.entries()) {
      const r = await annexml([
        "train",
        CONFIG,
        ...balanced,
        ...(i > 0 ? ["cls_balance=1.2"] : []),
        `model_file=${model}`,
        `num_thread=${Math.max(i, 1)}`,
        "verbose=0",
      ]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
    }
    const [, b1, b2] = await Promise.all(models.map((m) => readFile(m)));
    expect(b1.equals(b2)).toBe(true);
    expect(b1.readUInt32LE(8)).toBe(3);
    const capacity = Math.ceil((1.2 * 4880) / 6);
    const [free, bal] = await Promise.all(models.slice(0, 2).map((m) => loadModel(m)));
    expect(Math.max(...free.info.stats.partitionSizes[0])).toBeGreaterThan(capacity);
    expect(Math.max(...bal.info.stats.partitionSizes[0])).toBeLessThanOrEqual(capacity);
    expect(bal.info.params).toMatchObject({ cls_balance: 1.2 });
    // Prediction routes the training rows as training did: through the stored biases.
    const result = join(dir, "bal.result");
    const p = await annexml([
      "predict",
      CONFIG,
      `model_file=${models[1]}`,
      `result_file=${result}`,
      "verbose=0",
    ]);
    expect(p).toMatchObject({ code: 0, stderr: "" });
    const { truth, predictions } = parseResultFile(await readFile(result));
    expect(evaluate(truth, predictions, { k: 5 }).precision[0]).toBeGreaterThan(0.45);
    const bad = await annexml(["train", CONFIG, "cls_balance=0.5", `model_file=${join(dir, "x")}`]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/cls_balance.*must be 0 or in \[1\.1, 1000000\], but is 0\.5/);
  }, 300_000);

  it("streams predictions from stdin to stdout, same as files", async () => {
    const { model, result } = await smallModel();
    const expected = await readFile(result, "utf8");
    const input = await readFile(TEST, "utf8");
    const p = await annexml(
      ["predict", CONFIG, `model_file=${model}`, "predict_file=-", "result_file=-", "verbose=0"],
      input,
    );
    expect(p.code).toBe(0);
    expect(p.stdout).toBe(expected);
  }, 120_000);

  it("uses fewer learners and another num_edge at predict time when asked", async () => {
    const { model, result: all } = await smallModel();
    // A 1-learner model trained alone with num_edge=20: its learner is the
    // 2-learner model's first (same seeds), its search graphs have 20 edges.
    const one20 = join(dir, "one20.model");
    const trained = await annexml([
      "train",
      CONFIG,
      ...SMALL,
      "num_learner=1",
      "num_edge=20",
      `model_file=${one20}`,
    ]);
    expect(trained).toMatchObject({ code: 0, stderr: "" });
    const predict = async (file: string, name: string, extra: string[]) => {
      const result = join(dir, name);
      const r = await annexml([
        "predict",
        CONFIG,
        "verbose=1", // the rebuild notice is an info line
        `model_file=${file}`,
        `result_file=${result}`,
        ...extra,
      ]);
      expect(r.code).toBe(0);
      const text = await readFile(result, "utf8");
      expect(text.split("\n")).toHaveLength(2516);
      return { stderr: r.stderr, text };
    };
    const rebuilding = (ours: number, model: number) =>
      new RegExp(
        `^Note: num_edge=${ours} differs from the model's ${model}: rebuilding the search graphs in memory$`,
        "m",
      );

    // num_learner=1 (num_edge as in the model): the first learner alone, which
    // is the 1-learner model with its graphs rebuilt at num_edge=50.
    const first = await predict(model, "first.result", ["num_learner=1"]);
    expect(first.stderr).not.toMatch(/num_edge/);
    const alone50 = await predict(one20, "alone50.result", []); // the config's num_edge=50
    expect(alone50.stderr).toMatch(rebuilding(50, 20));
    expect(first.text).toBe(alone50.text);
    expect(first.text).not.toBe(await readFile(all, "utf8"));

    // num_learner=1 num_edge=20: graphs rebuilt with 20 edges, exactly the
    // graphs the 1-learner model was trained with.
    const first20 = await predict(model, "first20.result", ["num_learner=1", "num_edge=20"]);
    expect(first20.stderr).toMatch(rebuilding(20, 50));
    const alone20 = await predict(one20, "alone20.result", ["num_edge=20"]);
    expect(alone20.stderr).not.toMatch(/num_edge/);
    expect(first20.text).toBe(alone20.text);
    expect(first20.text).not.toBe(first.text);
  }, 120_000);
});

describe("bad input: one line, non-zero exit, nothing lost", () => {
  let good: string;
  beforeAll(async () => {
    good = (await smallModel()).model;
  }, 120_000);

  it("rejects a missing or malformed config (exit 1) and unknown, mistyped or out-of-range keys (exit 2)", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, '{"emb_size": 50,');
    const cases: [string[], RegExp, number][] = [
      [["train", join(dir, "none.json")], /cannot read config file \(no such file\)/, 1],
      [["train", bad], /config is not valid JSON/, 1],
      [
        ["train", CONFIG, "emb_sise=3"],
        /unknown parameter 'emb_sise' .*valid parameters: emb_size, num_learner/,
        2,
      ],
      [
        ["train", CONFIG, "num_nn=ten"],
        /parameter 'num_nn' in the command line must be an integer, but is "ten"/,
        2,
      ],
      [
        ["train", CONFIG, "cls_type=3"],
        /parameter 'cls_type' in the command line must be in \[0, 2\], but is 3/,
        2,
      ],
      [
        ["predict", CONFIG, "pred_type=7"],
        /parameter 'pred_type' .* must be in \[0, 1\], but is 7/,
        2,
      ],
      [["predict", CONFIG, "model_file="], /parameter 'model_file' is required/, 2],
    ];
    for (const [args, message, code] of cases) {
      const r = await annexml(args);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
  });

  it("keeps the previous model when the train file is empty or missing", async () => {
    const model = join(dir, "keep.model");
    await copyFile(good, model);
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
      `model_file=${good}`,
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
    const bytes = await readFile(good);
    const truncated = join(dir, "truncated.model");
    await writeFile(truncated, bytes.subarray(0, bytes.length >> 1));
    const corrupted = join(dir, "corrupted.model");
    const flipped = Buffer.from(bytes);
    flipped[flipped.length >> 1] ^= 0xff; // inside a section (the index and trailer are at the end)
    await writeFile(corrupted, flipped);
    const future = join(dir, "future.model");
    const newer = Buffer.from(bytes);
    newer.writeUInt32LE(99, 8);
    await writeFile(future, newer);
    const cases: [string, RegExp][] = [
      [truncated, /truncated (or corrupted )?model/],
      [corrupted, /corrupted model: section '.*' fails its CRC32 check/],
      [future, /model format version 99 is newer than this annexml reads \(3\)/],
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
    const model = await train({ data, numLearners: 1, embIters: 2, seed: 7 });
    const test = await readDataset(TEST);
    const before = model.predict(test.features, { k: 5 });
    expect(before.k).toBe(5);
    expect(evaluate(test.labels, before, { k: 1 }).precision[0]).toBeGreaterThan(0.4);
    const path = join(dir, "api.model");
    const bytes = await saveModel(model, path);
    expect((await stat(path)).size).toBe(bytes);
    const loaded = await loadModel(path);
    const after = loaded.predict(test.features, { k: 5 });
    expect(after.ids).toEqual(before.ids);
    expect(after.scores).toEqual(before.scores);
    // predict() must not touch the caller's rows (it normalises a copy).
    expect(test.features.values[0]).toBe(1);
    // The stored parameters keep the config's names and integers.
    expect(loaded.info.params).toMatchObject({ num_learner: 1, emb_iter: 2, seed: 7, cls_type: 1 });
    // Brute force and graph search both work and differ only a little.
    const exact = model.predict(test.features, { k: 5, search: "bruteForce" });
    expect(evaluate(test.labels, exact, { k: 1 }).precision[0]).toBeGreaterThan(0.4);
  }, 120_000);

  it("leaves the caller's data untouched and shares one copy with the threads; same model as from the file", async () => {
    const data = await readDataset(TRAIN);
    const snapshot = {
      values: data.features.values.slice(),
      indices: data.features.indices.slice(),
      indptr: data.features.indptr.slice(),
      labelIndices: data.labels.indices.slice(),
    };
    // K = 3 partitions, so the worker threads run several tasks on the shared copy.
    const options = {
      numLearners: 1,
      embIters: 1,
      partitionerIters: 1,
      clusterSize: 1500,
      seed: 3,
    };
    const fromData = await train({ ...options, data, numThreads: 2 });
    expect(data.features.values).toEqual(snapshot.values);
    expect(data.features.indices).toEqual(snapshot.indices);
    expect(data.features.indptr).toEqual(snapshot.indptr);
    expect(data.labels.indices).toEqual(snapshot.labelIndices);
    // Not normalised: bibtex's raw values are 1, a unit row's are below 1.
    expect(data.features.values[0]).toBe(1);
    const fromFile = await train({ ...options, trainFile: TRAIN, numThreads: 1 });
    expect(fromData.info.params).toEqual(fromFile.info.params);
    expect(fromData.info.stats).toEqual(fromFile.info.stats);
    expect(fromData.trainLabels).toEqual(fromFile.trainLabels);
    expect(fromData.learners).toEqual(fromFile.learners);
    const test = await readDataset(TEST);
    expect(fromData.predict(test.features).ids).toEqual(fromFile.predict(test.features).ids);

    const own = ownTrainingData(data, true);
    for (const [copy, original] of [
      [own.features.values, data.features.values],
      [own.features.indices, data.features.indices],
      [own.features.indptr, data.features.indptr],
      [own.labels.indptr, data.labels.indptr],
      [own.labels.indices, data.labels.indices],
    ] as const) {
      expect(copy.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(copy.buffer).not.toBe(original.buffer);
      expect(copy).toEqual(original);
    }
    expect(ownTrainingData(data, false).features.values.buffer).toBeInstanceOf(ArrayBuffer);
  }, 300_000);

  it("rejects bad and unknown options of train with BAD_OPTION, naming the option, value and valid values", async () => {
    const data = await readDataset(TRAIN);
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { trainFile: TRAIN, numLearners: 0 },
        /^option 'numLearners' of train must be in \[1, 1000\], but is 0$/,
      ],
      [
        { trainFile: TRAIN, num_learner: 5 },
        /^unknown option 'num_learner' of train \(the config key 'num_learner' is 'numLearners' here\); valid options: embSize, numLearners, /,
      ],
      [{ trainFile: TRAIN, predType: 1 }, /^unknown option 'predType' of train; valid options: /],
      [
        { trainFile: TRAIN, partitioner: "spectral" },
        /^option 'partitioner' of train must be "kmeans" or "mincut" or "tree", but is "spectral"$/,
      ],
      [
        { trainFile: TRAIN, labelNormalize: 1 },
        /^option 'labelNormalize' of train must be false or true, but is 1$/,
      ],
      [
        { trainFile: TRAIN, anchorStep: 1 },
        /^option 'anchorStep' of train must be "per-sample" or "merged", but is 1$/,
      ],
      [
        { trainFile: TRAIN, embSize: "50" },
        /^option 'embSize' of train must be an integer, but is "50"$/,
      ],
      [
        { trainFile: TRAIN, eta0: 0 },
        /^option 'eta0' of train must be > 0 and <= 1000000, but is 0$/,
      ],
      [
        { trainFile: TRAIN, numThreads: 1.5 },
        /^option 'numThreads' of train must be an integer, but is 1.5$/,
      ],
      [
        { trainFile: "" },
        /^option 'trainFile' of train must be a file path \(a non-empty string\), but is ""$/,
      ],
      [{}, /^train needs the option 'trainFile' or 'data'$/],
      [{ data, trainFile: TRAIN }, /^train takes 'trainFile' or 'data', not both$/],
      [
        { data: { features: data.features } },
        /^option 'data' of train: it must be \{ features, labels \}$/,
      ],
    ];
    for (const [options, message] of cases) {
      const error = await train(options as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(Object.keys(options))).toBeInstanceOf(AnnexmlError);
      expect(error).toMatchObject({ code: "BAD_OPTION" });
      expect((error as Error).message).toMatch(message);
    }
  });

  it("rejects bad and unknown options of predict the same way (predType: 7 is not brute force)", async () => {
    const model = await loadModel((await smallModel()).model);
    const rows = (await readDataset(TEST)).features;
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { predType: 7 },
        /^unknown option 'predType' of predict; valid options: numLearners, numNeighbours, search, searchEps, votePower, voteBeta, learnerNorm, voteMerge, votePropensity, rerankWeight, rerankShortlist, k$/,
      ],
      [
        { pred_type: 0 },
        /^unknown option 'pred_type' of predict \(the config key 'pred_type' is 'search' here\)/,
      ],
      [{ search: "x" }, /^option 'search' of predict must be "bruteForce" or "graph", but is "x"$/],
      [
        { k: 0 },
        /^option 'k' of predict must be a positive integer \(at most 1048576\), but is 0$/,
      ],
      [{ numLearners: 1.5 }, /^option 'numLearners' of predict must be an integer, but is 1.5$/],
      [
        { numNeighbours: 0 },
        /^option 'numNeighbours' of predict must be in \[1, 1000\], but is 0$/,
      ],
      [{ searchEps: -1 }, /^option 'searchEps' of predict must be in \[0, 1000000\], but is -1$/],
      [
        { searchEps: Number.NaN },
        /^option 'searchEps' of predict must be in \[0, 1000000\], but is NaN$/,
      ],
    ];
    for (const [options, message] of cases) {
      let error: unknown = null;
      try {
        model.predict(rows, options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AnnexmlError);
      expect(error).toMatchObject({ code: "BAD_OPTION" });
      expect((error as Error).message).toMatch(message);
    }
    // Valid choices are taken: one learner of two gives other votes than both.
    const one = model.predict(rows, { numLearners: 1, k: 5 });
    const both = model.predict(rows, { numLearners: 2, k: 5 });
    expect(one.scores).not.toEqual(both.scores);
    expect(Math.max(...one.scores)).toBeLessThanOrEqual(model.info.params.num_nn);
  });
});

describe("describeError: usage errors exit 2, data errors 1, bugs 70", () => {
  it("maps each kind of error to its exit code", () => {
    expect(describeError(new UsageError("bad"))).toEqual({ message: "bad", exitCode: 2 });
    expect(describeError(new AnnexmlError("BAD_OPTION", "k must be 1"))).toEqual({
      message: "k must be 1",
      exitCode: 2,
    });
    expect(
      describeError(new AnnexmlError("BAD_FORMAT", "bad line", { file: "f", line: 2 })),
    ).toEqual({
      message: "f:2: bad line",
      exitCode: 1,
    });
    for (const bug of [
      new TypeError("x is not a function"),
      new RangeError("offset out of range"),
    ]) {
      const { message, exitCode } = describeError(bug);
      expect(exitCode).toBe(70);
      expect(message).toMatch(/^internal error: .* \(set ANNEXML_DEBUG=1 for the stack trace\)$/);
    }
  });

  it("reports an out-of-range eval option as a usage error", async () => {
    const r = await annexml([
      "eval",
      join(ROOT, "packages/eval/fixtures/bibtex/result-graph.txt"),
      "-A",
      "-1",
    ]);
    expect(r).toMatchObject({
      code: 2,
      stderr: "annexml: -A must be a finite number >= 0, but is -1\n",
    });
  });
});
